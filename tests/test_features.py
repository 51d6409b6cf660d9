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
