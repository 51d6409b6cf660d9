from fractions import Fraction as F

from ddc_sm.selection.holds import (LONG_SPAN_BEATS, MIN_HOLD_BEATS, RELEASE_BEATS, release_class, release_tails)
from ddc_sm.selection.vocab import sequence_problems

ALWAYS = {"jump": 1.0, "long": 1.0, "short": 1.0}
NEVER = {"jump": 0.0, "long": 0.0, "short": 0.0}


def _chart(pairs):
    return [F(b) for b, _ in pairs], [r for _, r in pairs]


def test_a_hold_lets_go_before_the_next_step_on_a_row_of_its_own():
    # a hold on Left from beat 0; the next step (Right, beat 4) carries the tail: it moves RELEASE_BEATS earlier
    beats, rows = _chart([(0, "2000"), (2, "0100"), (4, "3001"), (5, "1000")])
    out_beats, out_rows = release_tails(beats, rows, "Medium", chance=ALWAYS)
    r = RELEASE_BEATS["Medium"]
    assert list(zip(out_beats, out_rows)) == [(0, "2000"), (2, "0100"), (4 - r, "3000"), (4, "0001"), (5, "1000")]
    assert sequence_problems(out_rows) == []
    assert release_tails(beats, rows, "Medium", chance=NEVER) == (beats, rows)


def test_steps_and_other_arrows_stay():
    beats, rows = _chart([(0, "2000"), (4, "3101"), (6, "0010")])
    out_beats, out_rows = release_tails(beats, rows, "Easy", chance=ALWAYS)
    steps = [(b, r) for b, r in zip(out_beats, out_rows) if r.replace("3", "0") != "0000"]
    assert steps == [(0, "2000"), (4, "0101"), (6, "0010")]


def test_lone_tails_stay():
    lone = _chart([(0, "0020"), (4, "0030"), (5, "1000")])  # the tail already has a row of its own
    assert release_tails(*lone, "Hard", chance=ALWAYS) == lone


def test_no_release_without_room():
    r, shortest = RELEASE_BEATS["Challenge"], MIN_HOLD_BEATS["Challenge"]
    # another row sits where the tail would go: nothing moves, no rows merge
    crowded = _chart([(0, "2000"), (4 - r, "0100"), (4, "3001")])
    assert release_tails(*crowded, "Challenge", chance=ALWAYS) == crowded
    # the released hold would be shorter than MIN_HOLD_BEATS
    short = _chart([(0, "2000"), (r + shortest - F(1, 16), "3001")])
    assert release_tails(*short, "Challenge", chance=ALWAYS) == short
    assert release_class(F(0), r + shortest, F(0), "0001", "Challenge") == "short"


def test_release_classes():
    assert release_class(F(0), F(4), F(2), "0101", "Hard") == "jump"
    assert release_class(F(0), LONG_SPAN_BEATS, F(0), "0001", "Hard") == "long"
    assert release_class(F(0), F(1), F(0), "0001", "Hard") == "short"
    assert release_class(F(0), F(4), F(4) - RELEASE_BEATS["Hard"], "0001", "Hard") is None  # a row is in the way


def test_two_tails_on_one_step_row_let_go_together():
    beats, rows = _chart([(0, "2020"), (4, "3130")])  # Left and Up held, Down tapped as both let go
    out = release_tails(beats, rows, "Beginner", chance=ALWAYS)
    assert list(zip(*out)) == [(0, "2020"), (4 - RELEASE_BEATS["Beginner"], "3030"), (4, "0100")]


def test_the_draws_are_seeded():
    pairs, beat = [], 0
    for _ in range(40):  # forty 1-beat holds on Left, each let go as Right is stepped
        pairs += [(beat, "2000"), (beat + 1, "3001")]
        beat += 2
    beats, rows = _chart(pairs)
    a = release_tails(beats, rows, "Medium", seed=3)
    assert a == release_tails(beats, rows, "Medium", seed=3)
    released = len(a[1]) - len(rows)
    assert 0 < released < 40  # some of them, not all: a chance, not a rule
    assert release_tails(beats, rows, "Medium", seed=4) != a
