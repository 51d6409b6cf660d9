"""Note rows of a dance-single chart: one character per column (Left, Down, Up, Right).

The model's alphabet: ``0`` empty, ``1`` tap, ``2`` hold head, ``4`` roll head, ``3`` hold/roll tail, ``M`` mine.
A *step* is a row with something to hit (a tap or a head); tails and mines are not steps.
"""

from __future__ import annotations

from fractions import Fraction

STEPS_TYPE = "dance-single"
COLUMNS = 4
LEFT, DOWN, UP, RIGHT = range(COLUMNS)

EMPTY, TAP, HOLD_HEAD, TAIL, ROLL_HEAD, MINE = "0", "1", "2", "3", "4", "M"
ROW_CHARS = EMPTY + TAP + HOLD_HEAD + TAIL + ROLL_HEAD + MINE  # "01234M"
HEADS = HOLD_HEAD + ROLL_HEAD  # open a hold or roll, closed by a TAIL in the same column
HIT = frozenset(TAP + HEADS)  # what a foot steps on
EMPTY_ROW = EMPTY * COLUMNS

# StepMania's other note characters, as the model reads them: lifts become taps, fakes and keysounds nothing
_NORMALISED = {c: c for c in ROW_CHARS} | {"L": TAP, "F": EMPTY, "K": EMPTY}


# StepMania's note values (NoteType: 4th .. 192nd) by the denominator of a beat's fraction (beats per row)
NOTE_VALUE_BY_DENOMINATOR = {1: 4, 2: 8, 3: 12, 4: 16, 6: 24, 8: 32, 12: 48, 16: 64}


def note_value(beat) -> int:
    """StepMania's note value of a beat: 4 (quarter), 8, 12, 16, 24, 32, 48, 64, else 192.  A float beat is
    read as the nearest fraction with a denominator of at most 192."""
    frac = beat if isinstance(beat, Fraction) else Fraction(beat)
    if not isinstance(beat, (Fraction, int)):
        frac = frac.limit_denominator(192)
    return NOTE_VALUE_BY_DENOMINATOR.get(frac.denominator, 192)


INSIDE_HOLD, TAIL_WITHOUT_HEAD = "inside-hold", "tail-without-head"


def column_transition(held: bool, char: str) -> tuple[bool, str | None]:
    """The hold rule, for one column: a ``2``/``4`` head opens a hold there; until a ``3`` tail closes it in that
    column nothing else (tap, head, mine) lands in that column; a tail needs an open hold.

    ``held``: a hold or roll is open in the column before ``char`` (any StepMania note character, ``0`` for
    none).  Returns (held after it, the broken rule or None): ``INSIDE_HOLD`` for a note (a head too) inside
    an open hold, ``TAIL_WITHOUT_HEAD`` for a tail with none open.  The state after a broken rule is what
    StepMania makes of it: a head inside a hold opens the new one, a tail without a head changes nothing.
    """
    if held:
        if char == TAIL:
            return False, None
        return True, (None if char == EMPTY else INSIDE_HOLD)
    if char == TAIL:
        return False, TAIL_WITHOUT_HEAD
    return char in HEADS, None


def normalise_row(row: str) -> str:
    """A StepMania row in the model's alphabet (unknown characters become empty)."""
    return "".join(_NORMALISED.get(c, EMPTY) for c in row)


def step_columns(row: str) -> list[int]:
    """The columns a row asks a foot to hit (taps and hold/roll heads)."""
    return [i for i, c in enumerate(row) if c in HIT]


def is_jump(row: str) -> bool:
    """Two or more columns hit at once."""
    return len(step_columns(row)) >= 2
