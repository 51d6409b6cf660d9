"""Fit tuned constants on the train+valid human charts (never the test songs) and print their figures.

    python benchmarks/fit_constants.py            # human charts under ../shared/data
    python benchmarks/fit_constants.py ROOT       # another folder of packs

Songs are split by song (``ddc_sm/simfiles/split_shared_data.json``); a song the split file does not list goes
to train or valid the way training puts it (:func:`ddc_sm.simfiles.splits.training_part`), never to test.
Only train+valid charts choose the values; the test charts are only scored.

1. ``JUMP_BUDGET`` (``ddc_sm/selection/inference.py``), per difficulty ``(share, slack)``: a chart stays within
   it when, at every step k (rows with something to hit, counted from 1), at most ``share * k + slack`` of its
   first k steps are jumps (rows with 2+ hit columns) -- what the beam search enforces.  The slack is kept as
   it is in the code; the share is the smallest on the 0.05 grid (0.05 .. 1.00) with which at least
   ``JUMP_TARGET`` of that difficulty's train+valid charts stay within the budget: 92 % for Beginner, Easy and
   Medium (where the model writes too many jumps, so the budget should bite), 95 % for Hard and Challenge
   (where jumps belong to the style).  On all songs this rule gives back the values first chosen by hand.
2. ``STEP_DENSITY_RANGE`` (``ddc_sm/pipeline/make.py``): see :func:`fit_density_ranges`.

The meter regressor (``ddc_sm/simfiles/meter.py``) has its own script: ``benchmarks/meters.py``.

Prints the fitted values next to the ones in the code and the jump budget's coverage (share of charts within
it) on train+valid and on test.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "data"

SHARE_GRID = tuple(round(0.05 * i, 2) for i in range(1, 21))
JUMP_TARGET = {"Beginner": 0.92, "Easy": 0.92, "Medium": 0.92, "Hard": 0.95, "Challenge": 0.95}


@dataclass
class Chart:
    song: str
    part: str  # train, valid or test
    difficulty: str
    times: np.ndarray
    rows: list[str]


def within_jump_budget(rows: Sequence[str], share: float, slack: float) -> bool:
    """Whether at every step k at most ``share * k + slack`` of the first k steps are jumps.

    As in the beam search's ``JumpBudget`` (a jump at step k is allowed while the jumps so far, it included, are
    at most ``share * k + slack``); rows with nothing to hit are not steps.  The small tolerance keeps products
    such as 0.15 * 20 from falling a rounding error below a whole number of jumps.
    """
    from ddc_sm.simfiles.stats import step_columns

    steps = jumps = 0
    for row in rows:
        n = len(step_columns(row))
        if n == 0:
            continue
        steps += 1
        if n >= 2:
            jumps += 1
            if jumps > share * steps + slack + 1e-9:
                return False
    return True


def jump_coverage(charts: Sequence[Chart], share: float, slack: float) -> float:
    """Share of ``charts`` within the budget (nan for none)."""
    if not charts:
        return float("nan")
    return sum(within_jump_budget(c.rows, share, slack) for c in charts) / len(charts)


def fit_jump_share(charts: Sequence[Chart], slack: float, target: float, grid: Sequence[float] = SHARE_GRID) -> float:
    """The smallest share of ``grid`` with which at least ``target`` of ``charts`` stay within the budget."""
    for share in sorted(grid):
        if jump_coverage(charts, share, slack) >= target:
            return share
    return max(grid)


def fit_jump_budget(charts: Sequence[Chart], slacks: dict[str, float]) -> dict[str, tuple[float, float]]:
    return {d: (fit_jump_share([c for c in charts if c.difficulty == d], slack, JUMP_TARGET[d]), slack)
            for d, slack in slacks.items()}


def load_charts(root: Path) -> list[Chart]:
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split, training_part

    split = load_split()
    out = []
    for song in iter_songs([root]):
        part = training_part(song.key, split)
        for c in song.charts:
            out.append(Chart(song.key, part, c.difficulty, np.asarray(c.times), list(c.rows)))
    return out


def chart_rates(root: Path, part: str = "train") -> dict[str, list[float]]:
    """Non-empty rows per second of audio (length from the file's header) of each human chart of ``part``, per
    difficulty."""
    from ddc_sm.audio.decode import header_duration
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split, training_part

    split = load_split()
    rates: dict[str, list[float]] = {}
    for song in iter_songs([root]):
        if song.audio_path is None or training_part(song.key, split) != part:
            continue
        duration = header_duration(song.audio_path)
        for c in song.charts:
            rates.setdefault(c.difficulty, []).append(len(c.rows) / duration)
    return rates


def fit_density_ranges(root: Path, part: str = "train") -> dict[str, tuple[float, float]]:
    """STEP_DENSITY_RANGE: :func:`chart_rates` of ``part``, per difficulty: 10th to 75th percentile (to the
    median for Beginner and Easy)."""
    rates = chart_rates(root, part)
    upper = {"Beginner": 50, "Easy": 50}
    return {d: (round(float(np.percentile(r, 10)), 2), round(float(np.percentile(r, upper.get(d, 75))), 2))
            for d, r in rates.items()}


def _pct(x: float) -> str:
    return "  n/a" if x != x else f"{100 * x:4.1f}%"


def main() -> int:
    from ddc_sm import threads as thread_policy

    thread_policy.configure()  # one thread, or $DDC_SM_THREADS (ddc_sm/threads.py): a busy machine does not thrash
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT, help="folder of packs (default ../shared/data)")
    args = ap.parse_args()
    if not args.root.exists():
        print(f"skipped: {args.root} not found (the shared data is needed to fit these constants)")
        return 0
    sys.path.insert(0, str(REPO))
    from ddc_sm import DIFFICULTIES
    from ddc_sm.selection.inference import JUMP_BUDGET

    charts = load_charts(args.root)
    fit_on = [c for c in charts if c.part in ("train", "valid")]
    test = [c for c in charts if c.part == "test"]
    songs = {p: len({c.song for c in charts if (c.part == "test") == (p == "test")}) for p in ("fit", "test")}
    print(f"{args.root}: {len(charts)} charts; fitted on train+valid ({songs['fit']} songs, {len(fit_on)} charts), "
          f"test scored only ({songs['test']} songs, {len(test)} charts)")
    if not fit_on:
        print("no train/valid charts: nothing to fit")
        return 1

    slacks = {d: JUMP_BUDGET[d][1] for d in DIFFICULTIES}
    new_budget = fit_jump_budget(fit_on, slacks)
    all_budget = fit_jump_budget(charts, slacks)
    print("\nJUMP_BUDGET (share, slack): smallest share on a 0.05 grid covering the target of train+valid charts")
    print(f"{'difficulty':10} {'slack':>5} {'target':>6} {'code':>5} {'fitted':>6} {'all songs':>9} | "
          f"{'charts':>6} {'code':>6} {'fitted':>6} | {'test':>4} {'code':>6} {'fitted':>6}")
    for d in DIFFICULTIES:
        share, slack = JUMP_BUDGET[d]
        new_share = new_budget[d][0]
        tv = [c for c in fit_on if c.difficulty == d]
        te = [c for c in test if c.difficulty == d]
        print(f"{d:10} {slack:5.1f} {_pct(JUMP_TARGET[d]):>6} {share:5.2f} {new_share:6.2f} {all_budget[d][0]:9.2f} | "
              f"{len(tv):6d} {_pct(jump_coverage(tv, share, slack)):>6} "
              f"{_pct(jump_coverage(tv, new_share, slack)):>6} | "
              f"{len(te):4d} {_pct(jump_coverage(te, share, slack)):>6} {_pct(jump_coverage(te, new_share, slack)):>6}")
    print("(coverage: share of the charts within the budget; 'all songs': the same rule fitted on every song, test "
          "included)")
    print("fitted: JUMP_BUDGET = {" + ", ".join(f'"{d}": ({s:g}, {k:.1f})' for d, (s, k) in new_budget.items()) + "}")

    from ddc_sm.pipeline.make import STEP_DENSITY_RANGE

    ranges = fit_density_ranges(args.root, "train")
    print("\nSTEP_DENSITY_RANGE: non-empty rows per second of audio, train charts, 10th to 75th percentile "
          "(to the median for Beginner and Easy)")
    print(f"{'difficulty':10} {'code':>12} {'fitted':>12}")
    for d in DIFFICULTIES:
        print(f"{d:10} {str(STEP_DENSITY_RANGE[d]):>12} {str(ranges.get(d)):>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
