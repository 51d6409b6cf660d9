"""Stage 1 at inference: step probabilities per frame, and step times from their peaks (:mod:`.peaks`).

``StepPlacer`` wraps the trained C-LSTM (:mod:`ddc_sm.placement.model`) with its feature statistics and
the per-difficulty peak-picking thresholds chosen on validation data::

    placer = StepPlacer.load()                      # shipped weights (or StepPlacer.load(weights_dir))
    raw = cached_features(audio_path, "placement")  # or features.placement_features(y44k): (80, 3, T)
    grid = ConstantTiming(bpm, offset)              # the grid the chart is written on (ddc_sm.timing.grid)
    times = placer.step_times(raw, ["Easy", "Hard"], timing=grid)  # {"Easy": array of seconds, "Hard": ...}

A model that takes the beat grid as input (``uses_grid``, the shipped one) places steps best with the grid the
chart will be written on; without ``timing`` it gets no grid (all-zero inputs, which training also showed it on
a tenth of its crops) and places steps from the audio alone, less well.

Peak picking: the probability is smoothed with a normalised Hamming window of ``smooth`` frames, then
``scipy.signal.find_peaks`` keeps peaks at least ``thresholds[difficulty]`` high and ``min_distance`` frames
apart.  Inference is deterministic (eval mode, no sampling).
"""

from __future__ import annotations

import functools
import os
from typing import Sequence

import numpy as np

from ddc_sm.difficulty import DIFFICULTIES, canonical_difficulty
from ddc_sm.errors import UserError, WeightsError
from ddc_sm.audio.features import FeatureStats
from ddc_sm.placement.peaks import DEFAULT_MIN_DISTANCE, DEFAULT_SMOOTH, DEFAULT_THRESHOLD, frames_to_times, pick_peaks

def decode_windowed(model, enc, difficulty, window: int = 0):
    """LSTM + head over the whole song (``window`` 0), or over windows of ``window`` frames that overlap by
    half a window (each frame's logit comes from the centre half of a window, as in training)."""
    import torch

    T = enc.shape[1]
    if window <= 0 or T <= window:
        return model.decode(enc, difficulty)
    margin = window // 4
    hop = window - 2 * margin
    out = torch.empty(enc.shape[0], T)
    start = 0
    while start < T:
        s0 = max(0, min(start - margin, T - window))
        end = min(T, start + hop)
        logits = model.decode(enc[:, s0:s0 + window], difficulty)
        out[:, start:end] = logits[:, start - s0:end - s0]
        start = end
    return out


def _canonical(difficulties: str | Sequence[str]) -> list[str]:
    """The asked difficulties in the asked order (names as :func:`ddc_sm.difficulty.canonical_difficulty` reads)."""
    if isinstance(difficulties, str):
        difficulties = [difficulties]
    out = []
    for name in difficulties:
        canon = canonical_difficulty(str(name))
        if canon not in DIFFICULTIES:
            raise UserError(f"unknown difficulty {name!r}; use one of {', '.join(DIFFICULTIES)}")
        out.append(canon)
    return out


# --- the placer ------------------------------------------------------------------------------------------
class StepPlacer:
    """A trained step placement model with its normalisation and peak-picking settings."""

    def __init__(self, model, stats: FeatureStats, thresholds: dict[str, float], *, smooth: int = DEFAULT_SMOOTH,
                 min_distance: int = DEFAULT_MIN_DISTANCE, window: int = 0, extra: dict | None = None):
        self.model = model.eval()
        self.stats = stats
        self.thresholds = {d: float(thresholds.get(d, DEFAULT_THRESHOLD)) for d in DIFFICULTIES}
        self.smooth = int(smooth)
        self.min_distance = int(min_distance)
        self.window = int(window)  # 0: the LSTM runs over the whole song at once
        self.extra = extra or {}

    @classmethod
    def from_bundle(cls, bundle: dict) -> "StepPlacer":
        from ddc_sm.placement.model import PlacementModel

        config = bundle.get("config") or {}
        model = PlacementModel(config.get("model") or {})
        try:
            model.load_state_dict(bundle["state_dict"])
        except (RuntimeError, KeyError) as exc:
            raise WeightsError(f"placement weights do not fit the model config: {exc}") from exc
        stats = FeatureStats.from_dict(bundle["stats"])
        peaks = config.get("peaks") or {}
        return cls(model, stats, peaks.get("thresholds") or {}, smooth=peaks.get("smooth", DEFAULT_SMOOTH),
                   min_distance=peaks.get("min_distance", DEFAULT_MIN_DISTANCE), window=peaks.get("window", 0),
                   extra=bundle.get("extra") or {})

    @classmethod
    def load(cls, weights_dir: str | os.PathLike | None = None) -> "StepPlacer":
        from ddc_sm.weights import load_bundle

        return cls.from_bundle(load_bundle("placement", weights_dir))

    # -- inference --
    def _normalised(self, raw_feats: np.ndarray):
        import torch

        raw = np.asarray(raw_feats, dtype=np.float32)
        if raw.ndim != 3 or raw.shape[:2] != tuple(self.stats.mean.shape):
            raise ValueError(f"expected placement features of shape {tuple(self.stats.mean.shape)} + (frames,), got {raw.shape}")
        x = self.stats.apply(raw)  # (F, C, T)
        return torch.from_numpy(np.ascontiguousarray(x.transpose(1, 2, 0)))[None]  # (1, C, T, F)

    @property
    def uses_grid(self) -> bool:
        """Whether the model takes the beat grid as an input (``timing`` of :meth:`probabilities`)."""
        return bool(self.model.config.beat_features)

    def estimated_grid(self, audio_path):
        """The grid input `make` gives this model for ``audio_path`` when no grid is given: the tempo estimate
        (:func:`ddc_sm.timing.estimated.estimated_timing`, cached); None for a model that takes no grid.  For
        scoring placement as `make` places it, never with the human chart's grid."""
        if not self.uses_grid:
            return None
        from ddc_sm.timing.estimated import estimated_timing

        return estimated_timing(audio_path)

    def probabilities(self, raw_feats: np.ndarray, difficulties: str | Sequence[str],
                      timing=None, workers: int = 1) -> dict[str, np.ndarray]:
        """Per-frame step probability (float32, shape (T,)) for each difficulty; the conv stack runs once.

        ``timing``: the song's beat grid (anything with ``beat_at``), the input of a model that :attr:`uses_grid`
        (ignored by others); `make` passes the grid it writes, estimated or given.

        Large batched work: it runs on the thread budget (:func:`ddc_sm.threads.batched`).  With one thread (the
        default) the LSTM runs one difficulty at a time, which is as fast there and keeps its memory to one
        song's frames; with more, all difficulties go through it in one batch, which the threads share.  Other
        thread counts may round the last bits of the probabilities differently (oneDNN and MKL split the sums
        by thread), and so, rarely, move a step.  ``workers`` > 1 (with one thread): the difficulties' LSTM
        runs split over that many processes (:func:`ddc_sm.forked.run_parts`), each exactly as here.
        """
        import torch

        from ddc_sm import forked, threads

        diffs = _canonical(difficulties)
        if not diffs:
            return {}
        with torch.no_grad(), threads.batched():
            x = self._normalised(raw_feats)
            beat = None
            if self.uses_grid:
                from ddc_sm.placement.beats import beat_phase_features

                beat = torch.from_numpy(beat_phase_features(timing, x.shape[2]))[None]
            enc = self.model.encode(self.model.pad(x), beat=beat)  # (1, T, P), shared by all difficulties
            idx = torch.tensor([DIFFICULTIES.index(d) for d in diffs], dtype=torch.long)
            if threads.budget() > 1 and len(diffs) > 1:
                probs = torch.sigmoid(decode_windowed(self.model, enc.expand(len(diffs), -1, -1), idx, self.window))
                return {d: probs[i].numpy().astype(np.float32) for i, d in enumerate(diffs)}

            def some(part: list[int], _progress) -> list[np.ndarray]:
                with torch.no_grad(), threads.single():
                    return [torch.sigmoid(decode_windowed(self.model, enc, idx[i:i + 1], self.window))[0].numpy()
                            .astype(np.float32) for i in part]

            parts = forked.split(list(range(len(diffs))), workers)
            probs = [p for got in forked.run_parts(some, parts) for p in got]
            return dict(zip(diffs, probs))

    def step_times(self, raw_feats: np.ndarray, difficulties: str | Sequence[str], *,
                   thresholds: dict[str, float] | None = None, timing=None) -> dict[str, np.ndarray]:
        """Sorted step times in seconds (frame / 100) for each difficulty."""
        probs = self.probabilities(raw_feats, difficulties, timing)
        return {d: self.times_from_probability(p, d, threshold=(thresholds or {}).get(d)) for d, p in probs.items()}

    def times_from_probability(self, prob: np.ndarray, difficulty: str, *, threshold: float | None = None) -> np.ndarray:
        thr = self.thresholds[_canonical(difficulty)[0]] if threshold is None else float(threshold)
        return frames_to_times(pick_peaks(prob, thr, smooth=self.smooth, min_distance=self.min_distance))


@functools.lru_cache(maxsize=4)
def load_placer(weights_dir: str | None = None) -> StepPlacer:
    """The StepPlacer of ``weights_dir`` (the shipped weights when None), loaded once per process."""
    return StepPlacer.load(weights_dir)
