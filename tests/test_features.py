"""Feature shapes of the brief: a 30.44 s clip gives 3045 frames (frame i at i·10 ms) in both stages."""

import numpy as np

from ddc_sm.audio.features import (FeatureStats, PLACEMENT_SR, SELECTION_SR, n_frames, placement_features,
                             selection_features, time_to_frame)
from ddc_sm.audio.synth import drum_track

DURATION = 30.44


def test_placement_features_shape():
    y = drum_track(128.0, 0.5, DURATION, sample_rate=PLACEMENT_SR).samples
    feats = placement_features(y)
    assert feats.shape == (80, 3, 3045)
    assert feats.dtype == np.float32
    assert np.all(np.isfinite(feats))
    assert n_frames(DURATION) == 3045


def test_selection_features_shape():
    y = drum_track(128.0, 0.5, DURATION, sample_rate=SELECTION_SR).samples
    feats = selection_features(y)
    assert feats.shape == (100, 3045)
    assert feats.dtype == np.float32
    assert np.all(np.isfinite(feats))


def test_frames_are_10ms():
    assert time_to_frame(1.234) == 123
    assert list(time_to_frame(np.array([0.0, 0.01, 30.44]))) == [0, 1, 3044]


def test_feature_stats_roundtrip():
    rng = np.random.default_rng(0)
    a = rng.normal(3.0, 2.0, size=(80, 3, 500)).astype(np.float32)
    stats = FeatureStats.fit([a[..., :200], a[..., 200:]])
    z = stats.apply(a)
    assert z.shape == a.shape
    assert np.allclose(z.mean(axis=-1), 0.0, atol=1e-4)
    assert np.allclose(z.std(axis=-1), 1.0, atol=1e-3)
    again = FeatureStats.from_dict(stats.to_dict())
    assert np.allclose(again.apply(a), z)


def _librosa_log_mel(y, sr, n_fft, hop, n_mels, fmin, fmax):
    """The features as librosa computes them: centred frames (zero padding), |STFT|^2 of a Hann window, its mel
    filters, natural log with the package's floor."""
    import librosa

    from ddc_sm.audio.features import LOG_FLOOR

    spec = np.abs(librosa.stft(np.pad(y, n_fft // 2), n_fft=n_fft, hop_length=hop, window="hann",
                               center=False)) ** 2
    mel = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return np.log(mel @ spec + LOG_FLOOR).astype(np.float32)


def test_features_are_librosas_bit_for_bit():
    """make computes the features without importing librosa; they are librosa's own, to the bit."""
    from ddc_sm.audio import features as F

    y44 = drum_track(128.0, 0.5, 12.3, sample_rate=PLACEMENT_SR, seed=3).samples
    ours = placement_features(y44)
    for c, n_fft in enumerate(F.PLACEMENT_FFTS):
        ref = _librosa_log_mel(y44, PLACEMENT_SR, n_fft, F.PLACEMENT_HOP, F.PLACEMENT_MELS, F.PLACEMENT_FMIN,
                               F.PLACEMENT_FMAX)
        assert ref.shape == ours[:, c].shape
        assert np.array_equal(ours[:, c], ref), n_fft
    y16 = drum_track(128.0, 0.5, 12.3, sample_rate=SELECTION_SR, seed=3).samples
    ref = _librosa_log_mel(y16, SELECTION_SR, F.SELECTION_FFT, F.SELECTION_HOP, F.SELECTION_MELS, F.SELECTION_FMIN,
                           F.SELECTION_FMAX)
    assert np.array_equal(selection_features(y16), ref)


def test_features_of_a_clip_shorter_than_a_window():
    y = drum_track(128.0, 0.1, 0.05, sample_rate=PLACEMENT_SR).samples  # 2205 samples < 4096
    feats = placement_features(y)
    assert feats.shape == (80, 3, 1 + len(y) // 441)
    assert np.all(np.isfinite(feats))
