"""benchmarks/fit_constants.py: the rules that choose JUMP_BUDGET, on made-up charts, and (where ../shared/data is
present) that the constants in the code are what the rules give on train+valid.  (The meter is fitted by
benchmarks/meters.py now: tests/test_meters_benchmark.py.)"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks import fit_constants as fc  # noqa: E402

SHARED = REPO.parent / "shared" / "data"


def every_mth_a_jump(m: int, steps: int = 40) -> list[str]:
    """``steps`` steps with a jump at steps m, 2m, ... (counted from 1), an empty-of-hits row between each."""
    rows = []
    for k in range(1, steps + 1):
        rows.append("1001" if k % m == 0 else "1000")
        rows.append("M300")  # a mine and a tail: not a step
    return rows


def chart(rows, difficulty="Medium", times=None, part="train") -> fc.Chart:
    times = np.arange(len(rows), dtype=float) if times is None else np.asarray(times, dtype=float)
    return fc.Chart("pack/song", part, difficulty, times, list(rows))


def test_budget_counts_jumps_against_steps_so_far():
    rows = ["1100"] * 5 + ["1000"] * 20
    assert not fc.within_jump_budget(rows, 0.0, 4.0)  # the 5th jump is over 0 * 5 + 4
    assert fc.within_jump_budget(rows, 0.0, 5.0)
    assert fc.within_jump_budget(rows, 0.2, 4.0)  # 5 <= 0.2 * 5 + 4
    assert not fc.within_jump_budget(rows, 0.19, 4.0)


def test_rows_without_a_hit_are_not_steps():
    # jump, then three mine/tail rows, then a jump: the second jump is at step 2, where 0.5 * 2 + 0 allows 1
    rows = ["1001", "M000", "3000", "0M00", "0110"]
    assert not fc.within_jump_budget(rows, 0.5, 0.0)
    assert fc.within_jump_budget(rows, 0.5, 1.0)
    # a jump every m-th step needs a share of 1/m with no slack, mine rows or not
    for m in (2, 4, 5, 10):
        assert fc.within_jump_budget(every_mth_a_jump(m), 1 / m, 0.0)
        assert not fc.within_jump_budget(every_mth_a_jump(m), 1 / m - 0.01, 0.0)


def test_share_is_the_smallest_on_the_grid_that_covers_the_target():
    ms = (2, 4, 5, 10)  # each chart needs a share of 1/m
    charts = [chart(every_mth_a_jump(m)) for m in ms]
    need = sorted(1 / m for m in ms)
    for target in (0.25, 0.5, 0.75, 1.0):
        # the smallest grid share at or above the requirement of the ceil(target * n)-th least demanding chart
        kth = need[math.ceil(target * len(ms)) - 1]
        expected = min(s for s in fc.SHARE_GRID if s >= kth - 1e-9)
        assert fc.fit_jump_share(charts, 0.0, target) == expected
        assert fc.jump_coverage(charts, expected, 0.0) >= target


@pytest.mark.skipif(not (SHARED / "packs").is_dir(),
                    reason=f"real charts not found at {SHARED}; skipping the refit check")
def test_constants_in_the_code_are_the_train_valid_fit():
    from ddc_sm import DIFFICULTIES
    from ddc_sm.selection.inference import JUMP_BUDGET

    charts = [c for c in fc.load_charts(SHARED) if c.part in ("train", "valid")]
    assert charts
    assert fc.fit_jump_budget(charts, {d: JUMP_BUDGET[d][1] for d in DIFFICULTIES}) == JUMP_BUDGET
