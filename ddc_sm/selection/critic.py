"""A musicality critic: how much a chart's arrows look like a human charter's, given its step times.

The critic is a small convolutional network over a chart's non-empty rows.  Per row it sees the row itself (for
each of the 4 columns: tap, hold head, roll head, tail or mine), the log time gaps to the rows before and after,
and the difficulty; it gives one logit per row, and their mean is the chart's logit: ``score`` is its sigmoid,
near 1 for a chart it takes for a human one.  It is trained (``ddc-sm train critic``,
:mod:`ddc_sm.selection.train_critic`) on the train part's human charts against *corrupted copies* of them: the
same rows at the same times with their arrows perturbed the ways a bad generator errs (:func:`corrupt`), so
that arrow choice is the only cue it can use:

* ``shuffled``: the tap rows of a stretch reordered (the same arrows, no flow);
* ``jumps``: single taps turned into jumps with a random second panel;
* ``panels``: single taps moved to a random other panel (a foot sent anywhere);
* ``random``: every single tap on a uniformly random panel.

Holds are never touched and no arrow lands in a held column, so a corrupted chart is as well-formed as its
source.  A mirrored or flipped human chart is a human chart (the training shows it so).

`make --candidates N` decodes N seeded charts per difficulty and keeps the one the critic scores best;
`benchmarks/patterns.py` reports the critic's score of human, generated and corrupted charts.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ddc_sm.difficulty import DIFFICULTIES
from ddc_sm.simfiles.rows import COLUMNS, EMPTY, HOLD_HEAD, MINE, ROLL_HEAD, TAIL, TAP

NOTE_KINDS = (TAP, HOLD_HEAD, ROLL_HEAD, TAIL, MINE)
N_FEATURES = COLUMNS * len(NOTE_KINDS) + 2 + len(DIFFICULTIES)
CORRUPTIONS = ("shuffled", "jumps", "panels", "random")
MAX_GAP_S = 4.0


def chart_features(rows: Sequence[str], times: Sequence[float], difficulty: str) -> np.ndarray:
    """(len(rows), N_FEATURES) float32 for a chart's non-empty rows (in order) at ``times`` (seconds)."""
    n = len(rows)
    out = np.zeros((n, N_FEATURES), dtype=np.float32)
    for i, row in enumerate(rows):
        for c, ch in enumerate(row[:COLUMNS]):
            if ch in NOTE_KINDS:
                out[i, c * len(NOTE_KINDS) + NOTE_KINDS.index(ch)] = 1.0
    t = np.asarray(times, dtype=np.float64)
    if n:
        gaps = np.diff(t) if n > 1 else np.zeros(0)
        prev = np.concatenate([[MAX_GAP_S], gaps])
        nxt = np.concatenate([gaps, [MAX_GAP_S]])
        base = COLUMNS * len(NOTE_KINDS)
        out[:, base] = np.log(np.clip(prev, 0.01, MAX_GAP_S))
        out[:, base + 1] = np.log(np.clip(nxt, 0.01, MAX_GAP_S))
        out[:, base + 2 + DIFFICULTIES.index(difficulty)] = 1.0
    return out


def _single_tap(row: str) -> int | None:
    """The column of a row that is one tap and nothing else, else None."""
    hits = [c for c, ch in enumerate(row) if ch != EMPTY]
    return hits[0] if len(hits) == 1 and row[hits[0]] == TAP else None


def corrupt(rows: Sequence[str], kind: str, rng: np.random.Generator, share: float = 0.3) -> list[str]:
    """A copy of ``rows`` with its arrows perturbed as ``kind`` says (see the module's docstring); the rows'
    count and kinds (tap row, hold, mine ...) stay, holds stay well-formed."""
    from ddc_sm.selection.vocab import hold_states

    rows = list(rows)
    held = hold_states(rows)  # before each row: bit c set while a hold or roll is open in column c
    taps = [i for i, r in enumerate(rows) if _single_tap(r) is not None]
    if not taps:
        return rows

    def free(i: int, avoid: set[int]) -> list[int]:
        return [c for c in range(COLUMNS) if not held[i] >> c & 1 and c not in avoid]

    def tap_row(cols) -> str:
        return "".join(TAP if c in cols else EMPTY for c in range(COLUMNS))

    if kind == "shuffled":
        # taps of a stretch of up to 16 tap rows reordered, where every column each moved tap lands in is free
        start = int(rng.integers(0, max(1, len(taps) - 15)))
        chosen = taps[start:start + 16]
        cols = [_single_tap(rows[i]) for i in chosen]
        order = rng.permutation(len(chosen))
        for i, j in zip(chosen, order):
            c = cols[j]
            if not held[i] >> c & 1:
                rows[i] = tap_row({c})
        return rows
    if kind == "jumps":
        for i in taps:
            if rng.random() < share * 0.5:
                c = _single_tap(rows[i])
                options = free(i, {c})
                if options:
                    rows[i] = tap_row({c, int(rng.choice(options))})
        return rows
    if kind in ("panels", "random"):
        p = 1.0 if kind == "random" else share
        for i in taps:
            if rng.random() < p:
                c = _single_tap(rows[i])
                options = free(i, set() if kind == "random" else {c})
                if options:
                    rows[i] = tap_row({int(rng.choice(options))})
        return rows
    raise ValueError(f"unknown corruption {kind!r}; one of {CORRUPTIONS}")


def flipped(rows: Sequence[str], rng: np.random.Generator) -> list[str]:
    """The chart mirrored, flipped left-right or up-down (or as it is): still a human chart."""
    from ddc_sm.selection.vocab import PERMUTATIONS, permute_rows

    perms = list(PERMUTATIONS.values())  # as is, mirror, left-right, up-down
    return permute_rows(rows, perms[int(rng.integers(0, len(perms)))])


def build_critic(config: dict | None = None):
    """The critic network: dilated 1-D convolutions over rows -> a logit per row."""
    from torch import nn

    cfg = {"channels": 48, "kernel": 5, "layers": 3, "dropout": 0.1, **(config or {})}
    ch, k = int(cfg["channels"]), int(cfg["kernel"])
    layers: list = []
    width = N_FEATURES
    for i in range(int(cfg["layers"])):
        d = 2 ** i
        layers += [nn.Conv1d(width, ch, k, padding=d * (k // 2), dilation=d), nn.ReLU(), nn.Dropout(float(cfg["dropout"]))]
        width = ch
    layers.append(nn.Conv1d(width, 1, 1))
    return nn.Sequential(*layers)


class Critic:
    """A trained critic (``critic.pt``): :meth:`score` of a chart, in 0..1."""

    def __init__(self, model, extra: dict | None = None):
        self.model = model.eval()
        self.extra = extra or {}

    @classmethod
    def from_bundle(cls, bundle: dict) -> "Critic":
        from ddc_sm.errors import WeightsError

        model = build_critic((bundle.get("config") or {}).get("model"))
        try:
            model.load_state_dict(bundle["state_dict"])
        except (RuntimeError, KeyError) as exc:
            raise WeightsError(f"critic weights do not fit the model config: {exc}") from exc
        return cls(model, bundle.get("extra"))

    @classmethod
    def load(cls, weights_dir: str | os.PathLike | None = None) -> "Critic":
        from ddc_sm.weights import load_bundle

        return cls.from_bundle(load_bundle("critic", weights_dir))

    def logit(self, rows: Sequence[str], times: Sequence[float], difficulty: str) -> float:
        import torch

        from ddc_sm import threads

        rows = list(rows)
        if not rows:
            return 0.0
        x = torch.from_numpy(chart_features(rows, times, difficulty).T.copy())[None]
        with torch.inference_mode(), threads.single():
            return float(self.model(x).mean())

    def score(self, rows: Sequence[str], times: Sequence[float], difficulty: str) -> float:
        """How human the chart's arrows look, 0..1 (the sigmoid of the mean row logit)."""
        return float(1.0 / (1.0 + np.exp(-self.logit(rows, times, difficulty))))


def load_critic(weights_dir: str | None = None) -> Critic:
    """The Critic of ``weights_dir`` (the shipped one when None, or when the folder has no critic.pt), loaded once
    per process."""
    from ddc_sm.weights import BUNDLE_FILES

    if weights_dir is not None and not (Path(weights_dir) / BUNDLE_FILES["critic"]).exists():
        weights_dir = None
    return _load_critic(weights_dir)


@functools.lru_cache(maxsize=4)
def _load_critic(weights_dir: str | None) -> Critic:
    return Critic.load(weights_dir)
