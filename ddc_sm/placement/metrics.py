"""Placement's score: predicted step times matched one-to-one to human step times within a tolerance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np


@dataclass(frozen=True)
class FScore:
    """Counts of a one-to-one matching of predicted and true step times, and the scores they give."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else 0.0

    def __add__(self, other: "FScore") -> "FScore":
        """Micro-averaging over charts: add the counts."""
        return FScore(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def __getitem__(self, key: str):
        """Dict-style access too: ``score["tp"]``, ``score["f"]`` ..."""
        if key not in ("tp", "fp", "fn", "precision", "recall", "f"):
            raise KeyError(key)
        return getattr(self, key)

    def to_dict(self) -> dict:
        return {"precision": self.precision, "recall": self.recall, "f": self.f,
                "tp": self.tp, "fp": self.fp, "fn": self.fn}


def match_count(pred_times: Iterable[float], true_times: Iterable[float], tol: float = 0.02) -> int:
    """Size of the largest one-to-one matching with |pred − true| ≤ tol (greedy on sorted times is optimal in 1-D)."""
    p = np.sort(np.asarray(list(pred_times) if not isinstance(pred_times, np.ndarray) else pred_times, dtype=np.float64))
    t = np.sort(np.asarray(list(true_times) if not isinstance(true_times, np.ndarray) else true_times, dtype=np.float64))
    tol = tol + 1e-9
    i = j = matched = 0
    while i < len(p) and j < len(t):
        if p[i] < t[j] - tol:
            i += 1
        elif t[j] < p[i] - tol:
            j += 1
        else:
            matched += 1
            i += 1
            j += 1
    return matched


def match_f_score(pred_times: Iterable[float], true_times: Iterable[float], tol: float = 0.02) -> FScore:
    """Precision/recall/F of predicted step times against true ones, each true step matched at most once
    within ``tol`` seconds (±20 ms by default).  Returns an :class:`FScore` (``.precision``, ``.recall``,
    ``.f``, ``.tp``, ``.fp``, ``.fn``); add FScores to pool charts."""
    pred = np.asarray(list(pred_times) if not isinstance(pred_times, np.ndarray) else pred_times, dtype=np.float64)
    true = np.asarray(list(true_times) if not isinstance(true_times, np.ndarray) else true_times, dtype=np.float64)
    tp = match_count(pred, true, tol)
    return FScore(tp, len(pred) - tp, len(true) - tp)
