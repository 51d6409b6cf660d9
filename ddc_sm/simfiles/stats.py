"""Statistics of a dance-single chart that say how it plays: density, jumps, holds, crossovers.

Rows are strings over ``0 1 2 3 4 M`` (columns Left, Down, Up, Right).  A *step* is a row with something to
hit (``1`` tap, ``2`` hold head, ``4`` roll head); tails and mines are not steps.
"""

from __future__ import annotations

from typing import Sequence

from ddc_sm.simfiles.rows import DOWN, HEADS, LEFT, MINE, RIGHT, ROLL_HEAD, TAIL, UP, is_jump, step_columns


def crossover_patterns(rows: Sequence[str]) -> int:
    """How many patterns would force a crossover when feet alternate.

    Counted on runs of single-panel steps: Left–(Up|Down)–Right or Right–(Up|Down)–Left puts the same foot
    on the first and third arrow, so that foot must cross over the other.  Jumps end a run (both feet land).
    """
    count, run = 0, []
    for row in rows:
        cols = step_columns(row)
        if not cols:
            continue
        if len(cols) > 1:
            run = []
            continue
        run.append(cols[0])
        if len(run) >= 3:
            a, b, c = run[-3:]
            if {a, c} == {LEFT, RIGHT} and b in (UP, DOWN):
                count += 1
    return count


def tail_counts(rows: Sequence[str]) -> tuple[int, int]:
    """(hold and roll tails in a row with a step, all tails) of a chart's rows."""
    return (sum(r.count(TAIL) for r in rows if step_columns(r)), sum(r.count(TAIL) for r in rows))


def chart_stats(times: Sequence[float], rows: Sequence[str]) -> dict:
    """steps, steps_per_second, jump_share (steps that are jumps), hold_share (steps with a hold or roll head),
    roll_share (steps with a roll head), mine_share (mines per step), crossovers (and per 100 steps),
    tail_step_share (hold and roll tails in a row with a step, of all tails; 0 without tails)."""
    steps = [(t, r) for t, r in zip(times, rows) if step_columns(r)]
    n = len(steps)
    span = steps[-1][0] - steps[0][0] if n >= 2 else 0.0
    jumps = sum(1 for _, r in steps if is_jump(r))
    holds = sum(1 for _, r in steps if any(c in HEADS for c in r))
    rolls = sum(1 for _, r in steps if ROLL_HEAD in r)
    mines = sum(r.count(MINE) for r in rows)
    xo = crossover_patterns(rows)
    tails_with_step, tails = tail_counts(rows)
    return {
        "steps": n,
        "steps_per_second": (n - 1) / span if span > 0 else 0.0,
        "jump_share": jumps / n if n else 0.0,
        "hold_share": holds / n if n else 0.0,
        "roll_share": rolls / n if n else 0.0,
        "mine_share": mines / n if n else 0.0,
        "crossovers": xo,
        "crossovers_per_100": 100.0 * xo / n if n else 0.0,
        "tail_step_share": tails_with_step / tails if tails else 0.0,
    }
