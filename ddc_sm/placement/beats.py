"""The beat grid as an input of stage 1: where each 10 ms frame sits in the beat, the half beat and the quarter beat.

For frame ``i`` (at ``i / 100`` s) with beat position ``b = timing.beat_at(i / 100)`` the features are
``sin(2 pi k b), cos(2 pi k b)`` for ``k`` in 1, 2, 4 (the beat, the 8th, the 16th), as GenéLive!'s beat guide
gives its onset model the grid.  Any timing with ``beat_at`` works (a constant BPM and offset, or a simfile's
tempo map); without one every feature is 0, which training also shows the model (``no_grid_prob``), so a
model trained with them still places steps when no grid is known.
"""

from __future__ import annotations

import numpy as np

HARMONICS = (1, 2, 4)
N_FEATURES = 2 * len(HARMONICS)
FRAME_RATE = 100.0


def beat_phase_features(timing, n_frames: int, frame_times: np.ndarray | None = None) -> np.ndarray:
    """(n_frames, N_FEATURES) float32; zeros when ``timing`` is None.

    ``frame_times``: the seconds of the frames when they are not ``i / 100`` (training's time-stretched crops).
    """
    if timing is None:
        return np.zeros((n_frames, N_FEATURES), dtype=np.float32)
    t = np.arange(n_frames) / FRAME_RATE if frame_times is None else np.asarray(frame_times, dtype=np.float64)
    return phase_features(np.asarray(timing.beat_at(t), dtype=np.float64))


def phase_features(beats: np.ndarray) -> np.ndarray:
    """The features of given beat positions (see the module's docstring)."""
    out = np.empty((len(beats), N_FEATURES), dtype=np.float32)
    for j, k in enumerate(HARMONICS):
        angle = 2.0 * np.pi * k * beats
        out[:, 2 * j] = np.sin(angle)
        out[:, 2 * j + 1] = np.cos(angle)
    return out
