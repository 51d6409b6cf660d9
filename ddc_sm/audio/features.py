"""Audio features for the two stages.

Stage 1 (placement): 44.1 kHz, hop 441 (10 ms), 80-band log-mel at FFT sizes 1024/2048/4096 stacked as
channels -> array (80, 3, frames).  Stage 2 (selection): 16 kHz, hop 160 (10 ms), 100-band log-mel ->
array (100, frames).  Frames are centred (frame i is at i * 10 ms), so a clip of n samples has
1 + n // hop frames.  Normalisation (z-scoring per band and channel) uses statistics stored with the
trained weights: see :class:`FeatureStats`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLACEMENT_SR = 44100
PLACEMENT_HOP = 441
PLACEMENT_FFTS = (1024, 2048, 4096)
PLACEMENT_MELS = 80
PLACEMENT_FMIN = 27.5
PLACEMENT_FMAX = 16000.0

SELECTION_SR = 16000
SELECTION_HOP = 160
SELECTION_FFT = 512
SELECTION_MELS = 100
SELECTION_FMIN = 20.0
SELECTION_FMAX = 8000.0

FRAME_RATE = 100.0  # frames per second, both stages
LOG_FLOOR = 1e-10
FFT_BLOCK = 64  # frames per FFT call (speed only: the values do not depend on it)


def _log_mel(y: np.ndarray, sr: int, n_fft: int, hop: int, n_mels: int, fmin: float, fmax: float,
             chunk_frames: int = 4096) -> np.ndarray:
    """Log-mel of centred frames (zero padding at the ends), computed in blocks of frames to bound memory.

    The power spectrum is ``librosa.stft(..., window="hann", center=False)`` on the zero-padded audio, computed
    here as librosa computes it (a float64 periodic Hann window times the float32 frames, ``scipy.fft.rfft``,
    rounded to complex64), so the features are librosa's bit for bit without importing it
    (``tests/test_features.py`` compares them); the filters are librosa's (:mod:`ddc_sm.audio.filters`).
    """
    import scipy.fft
    from scipy.signal import get_window

    from ddc_sm.audio.filters import mel_filters

    mel_basis = mel_filters(sr, n_fft, n_mels, fmin, fmax).astype(np.float32)
    window = get_window("hann", n_fft, fftbins=True)  # float64, as librosa's
    padded = np.pad(np.asarray(y, dtype=np.float32), n_fft // 2)
    total = 1 + len(y) // hop
    out = np.empty((n_mels, total), dtype=np.float32)
    step = padded.strides[0]
    frames = np.lib.stride_tricks.as_strided(padded, (total, n_fft), (step * hop, step), writeable=False)
    power = np.empty((min(chunk_frames, total), n_fft // 2 + 1), dtype=np.float32)
    for f0 in range(0, total, chunk_frames):
        f1 = min(total, f0 + chunk_frames)
        for a in range(f0, f1, FFT_BLOCK):  # a few frames at a time: the transforms stay in the cache
            b = min(f1, a + FFT_BLOCK)
            power[a - f0:b - f0] = np.abs(scipy.fft.rfft(frames[a:b] * window, axis=1, workers=1)
                                          .astype(np.complex64)) ** 2
        out[:, f0:f1] = np.log(mel_basis @ power[:f1 - f0].T + LOG_FLOOR)
    return out


def placement_features(y: np.ndarray) -> np.ndarray:
    """Stage-1 features of mono 44.1 kHz audio: float32 array (80 bands, 3 FFT sizes, frames)."""
    channels = [
        _log_mel(y, PLACEMENT_SR, n_fft, PLACEMENT_HOP, PLACEMENT_MELS, PLACEMENT_FMIN, PLACEMENT_FMAX)
        for n_fft in PLACEMENT_FFTS
    ]
    return np.stack(channels, axis=1)


def selection_features(y: np.ndarray) -> np.ndarray:
    """Stage-2 features of mono 16 kHz audio: float32 array (100 bands, frames)."""
    return _log_mel(y, SELECTION_SR, SELECTION_FFT, SELECTION_HOP, SELECTION_MELS, SELECTION_FMIN, SELECTION_FMAX)


def n_frames(duration_s: float) -> int:
    """Frames for audio of this duration (centred frames every 10 ms)."""
    return 1 + int(round(duration_s * PLACEMENT_SR)) // PLACEMENT_HOP


def time_to_frame(t: np.ndarray | float) -> np.ndarray:
    return np.rint(np.asarray(t) * FRAME_RATE).astype(np.int64)


@dataclass
class FeatureStats:
    """Per-band (and per-channel) mean and standard deviation for z-scoring features.

    ``mean``/``std`` have the feature shape without the frame axis: (80, 3) for stage 1, (100,) for stage 2.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, feature_arrays: list[np.ndarray]) -> "FeatureStats":
        total = None
        total_sq = None
        count = 0
        for feats in feature_arrays:
            f = feats.astype(np.float64)
            s, sq = f.sum(axis=-1), (f * f).sum(axis=-1)
            total = s if total is None else total + s
            total_sq = sq if total_sq is None else total_sq + sq
            count += f.shape[-1]
        mean = total / count
        var = np.maximum(total_sq / count - mean * mean, 1e-8)
        return cls(mean.astype(np.float32), np.sqrt(var).astype(np.float32))

    def apply(self, feats: np.ndarray) -> np.ndarray:
        return ((feats - self.mean[..., None]) / self.std[..., None]).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureStats":
        return cls(np.asarray(d["mean"], dtype=np.float32), np.asarray(d["std"], dtype=np.float32))
