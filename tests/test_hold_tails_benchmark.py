"""benchmarks/hold_tails.py: how it counts the human charts' releases (what RELEASE_CHANCE is fitted from)."""

from __future__ import annotations

import sys
from fractions import Fraction as F
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks import hold_tails  # noqa: E402


def test_human_releases_are_counted_by_class():
    # Medium: a 4-beat hold whose tail lands on the next step (kept), a 4-beat hold let go half a beat before
    # the next step (released), and a jump after a hold let go (released before a jump)
    pairs = [(0, "2000"), (4, "3001"), (6, "2000"), (F(19, 2), "3000"), (10, "0001"),
             (12, "0020"), (F(31, 2), "0030"), (16, "1001")]
    chart = SimpleNamespace(difficulty="Medium", beats=[F(b) for b, _ in pairs], rows=[r for _, r in pairs])
    song = SimpleNamespace(key="pack/not in the split", charts=[chart])
    e = hold_tails.human_figures([song], {})[("train+valid", "Medium")]
    assert (e["shared"], e["tails"]) == (1, 3)
    assert e["room"]["long"] == [1, 1]  # one released, one kept on the step
    assert e["room"]["jump"] == [1, 0]
    assert e["gaps"] == [0.5, 0.5]
    assert hold_tails.tail_counts(["2000", "3001", "0000"]) == (1, 1)  # stats.tail_counts, as chart_stats counts
