"""Peak picking: a step probability per frame into step times.

The probability is smoothed with a normalised Hamming window of ``smooth`` frames, then
``scipy.signal.find_peaks`` keeps peaks at least ``threshold`` high and ``min_distance`` frames apart.
"""

from __future__ import annotations

import numpy as np

from ddc_sm.audio.features import FRAME_RATE

# Design defaults (the per-difficulty thresholds that matter are chosen on the valid songs by
# `ddc-sm train placement` and stored in placement.pt).
DEFAULT_SMOOTH = 3
DEFAULT_MIN_DISTANCE = 3
DEFAULT_THRESHOLD = 0.25


def smooth_probability(prob: np.ndarray, width: int = DEFAULT_SMOOTH) -> np.ndarray:
    """Convolve with a normalised Hamming window of ``width`` frames (1 or less = unchanged)."""
    prob = np.asarray(prob, dtype=np.float64)
    if width is None or width <= 1 or prob.size == 0:
        return prob
    window = np.hamming(int(width) + 2)[1:-1]  # no zero end points
    window /= window.sum()
    return np.convolve(prob, window, mode="same")


def pick_peaks(prob: np.ndarray, threshold: float, *, smooth: int = DEFAULT_SMOOTH,
               min_distance: int = DEFAULT_MIN_DISTANCE) -> np.ndarray:
    """Frame indices (sorted, int64) of the peaks of the smoothed probability that reach ``threshold``."""
    from scipy.signal import find_peaks

    s = smooth_probability(prob, smooth)
    if s.size == 0:
        return np.zeros(0, dtype=np.int64)
    peaks, _ = find_peaks(s, height=threshold, distance=max(1, int(min_distance)))
    return peaks.astype(np.int64)


def frames_to_times(frames: np.ndarray) -> np.ndarray:
    return np.asarray(frames, dtype=np.float64) / FRAME_RATE
