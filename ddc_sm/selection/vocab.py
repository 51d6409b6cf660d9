"""The state vocabulary of step selection, hold validity of row sequences, arrow permutations.

A *state* is one non-empty dance-single row: four characters over ``0 1 2 3 4 M`` for the columns Left,
Down, Up, Right (``1`` tap, ``2`` hold head, ``4`` roll head, ``3`` hold/roll tail, ``M`` mine).  The
vocabulary holds the special tokens ``<pad>`` (id 0), ``<start>`` (id 1), ``<end>`` (id 2) and then the
top-k rows seen in training (never the empty row ``0000``).  Rows outside the vocabulary are mapped to
the nearest in-vocabulary row that keeps the sequence's holds well-formed (:meth:`Vocab.map_rows`).

Hold rules (what :func:`is_valid_sequence` checks): a ``2``/``4`` in a column opens a hold there; until a
``3`` closes it in that column, nothing else (tap, head, mine) lands in that column; a ``3`` needs an open
hold in its column; every hold is closed by the end of the chart.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

from ddc_sm.simfiles.rows import COLUMNS, EMPTY_ROW, HEADS, ROW_CHARS, TAIL, column_transition, is_jump

PAD, START, END = 0, 1, 2
SPECIALS = ("<pad>", "<start>", "<end>")
N_SPECIALS = len(SPECIALS)

# Column permutations of dance-single (L, D, U, R): new_row[i] = row[perm[i]].
PERMUTATIONS: dict[str, tuple[int, int, int, int]] = {
    "identity": (0, 1, 2, 3),
    "mirror": (3, 2, 1, 0),  # L<->R and U<->D
    "flip_lr": (3, 1, 2, 0),  # L<->R
    "flip_ud": (0, 2, 1, 3),  # U<->D
}
# Rows always in a vocabulary, so that a valid continuation exists from every hold state (one tap, one
# tail per column): beam search relies on this to close holds in time.
ESSENTIAL_ROWS = ("1000", "0100", "0010", "0001", "3000", "0300", "0030", "0003")


def permute_row(row: str, perm: Sequence[int] | str) -> str:
    """Apply a column permutation (a tuple or a name from :data:`PERMUTATIONS`) to one row."""
    if isinstance(perm, str):
        perm = PERMUTATIONS[perm]
    return "".join(row[p] for p in perm)


def permute_rows(rows: Iterable[str], perm: Sequence[int] | str) -> list[str]:
    if isinstance(perm, str):
        perm = PERMUTATIONS[perm]
    return [permute_row(r, perm) for r in rows]


# ----------------------------------------------------------------------------------------------- holds
def row_transition(open_mask: int, row: str) -> int | None:
    """Open-hold bitmask (bit c = column c held) after ``row``, or None when ``row`` is not allowed."""
    new = open_mask
    for c, ch in enumerate(row):
        bit = 1 << c
        held, broken = column_transition(bool(open_mask & bit), ch)
        if broken:
            return None
        new = new | bit if held else new & ~bit
    return new


def open_holds(rows: Iterable[str]) -> int:
    """Open-hold bitmask after a (valid) sequence; raises ValueError on an invalid row."""
    mask = 0
    for i, row in enumerate(rows):
        nxt = row_transition(mask, row)
        if nxt is None:
            raise ValueError(f"row {i} ({row!r}) breaks a hold")
        mask = nxt
    return mask


def hold_states(rows: Sequence[str]) -> list[int]:
    """For each row, the open-hold bitmask *before* it (invalid notes are ignored the way
    :func:`repair_rows` would drop them)."""
    out, mask = [], 0
    for row in rows:
        out.append(mask)
        nxt = row_transition(mask, row)
        mask = nxt if nxt is not None else row_transition(mask, _repair_row(mask, row)) or 0
    return out


def sequence_problems(rows: Sequence[str]) -> list[str]:
    """Human-readable list of what breaks the hold rules (empty when the sequence is valid)."""
    problems, mask = [], 0
    for i, row in enumerate(rows):
        if len(row) != COLUMNS or any(ch not in ROW_CHARS for ch in row):
            problems.append(f"row {i}: {row!r} is not a {COLUMNS}-column row over {ROW_CHARS!r}")
            continue
        if row == EMPTY_ROW:
            problems.append(f"row {i}: empty row")
        for c, ch in enumerate(row):
            bit = 1 << c
            if mask & bit and ch not in "03":
                problems.append(f"row {i}: {ch!r} in column {c} while a hold is open there")
            if not mask & bit and ch == TAIL:
                problems.append(f"row {i}: tail in column {c} without an open hold")
        mask = row_transition(mask, _repair_row(mask, row)) or 0
    if mask:
        cols = [c for c in range(COLUMNS) if mask >> c & 1]
        problems.append(f"holds in columns {cols} never closed")
    return problems


def is_valid_sequence(rows: Sequence[str]) -> bool:
    """True when every row is a non-empty 4-column row and the holds are well-formed and all closed."""
    return not sequence_problems(rows)


def _repair_row(mask: int, row: str) -> str:
    """Drop what the hold state forbids: notes in held columns, tails without a hold."""
    out = []
    for c, ch in enumerate(row):
        held = mask >> c & 1
        if held and ch not in "03":
            ch = "0"
        elif not held and ch == TAIL:
            ch = "0"
        out.append(ch)
    return "".join(out)


def repair_rows(rows: Sequence[str]) -> list[str]:
    """A valid version of ``rows`` with the same length: forbidden notes dropped, holds never closed become
    taps at their head.  A row left empty becomes a tap in its first free column (never a mine)."""
    out: list[str] = []
    heads: dict[int, int] = {}  # column -> index of the row holding its open head
    mask = 0
    for row in rows:
        fixed = _repair_row(mask, row)
        if fixed == EMPTY_ROW:
            free = [c for c in range(COLUMNS) if not mask >> c & 1]
            if free:
                fixed = "".join("1" if c == free[0] else "0" for c in range(COLUMNS))
            else:  # every column held: close the first hold here
                fixed = "".join("3" if c == 0 else "0" for c in range(COLUMNS))
        for c, ch in enumerate(fixed):
            if ch in HEADS:
                heads[c] = len(out)
        mask = row_transition(mask, fixed)
        out.append(fixed)
    for c in range(COLUMNS):
        if mask >> c & 1:
            i = heads[c]
            out[i] = out[i][:c] + "1" + out[i][c + 1:]
    return out


# ---------------------------------------------------------------------------------------------- vocab
def _char_cost(orig: str, new: str) -> float:
    if orig == new:
        return 0.0
    if orig == "M" and new == "0":
        return 0.3
    if {orig, new} == {"2", "4"}:
        return 0.3
    if orig in HEADS and new == "1":
        return 1.0
    if orig == "0" and new == "M":
        return 1.5
    if orig == "1" and new in HEADS:
        return 2.0
    if new == "0":
        return 1.2 if orig in "1234" else 0.3
    if orig == "0":
        return 3.0
    return 2.5


class Vocab:
    """Special tokens + rows; ``encode``/``decode`` map between row strings and ids."""

    def __init__(self, rows: Sequence[str]):
        rows = list(rows)
        for r in rows:
            if len(r) != COLUMNS or any(ch not in ROW_CHARS for ch in r) or r == EMPTY_ROW:
                raise ValueError(f"bad vocabulary row {r!r}")
        if len(set(rows)) != len(rows):
            raise ValueError("duplicate rows in vocabulary")
        self.rows = rows
        self.tokens = list(SPECIALS) + rows
        self.index = {r: i + N_SPECIALS for i, r in enumerate(rows)}
        self._map_cache: dict[tuple[int, str], str] = {}

    # -- construction
    @classmethod
    def build(cls, row_sequences: Iterable[Sequence[str]], k: int = 128, *, symmetric: bool = True) -> "Vocab":
        """Top-k rows by count.  With ``symmetric`` counts are pooled over the arrow permutations and whole
        permutation orbits are kept together, so augmented charts stay in the vocabulary.  The essential
        rows (single taps and tails) are always included."""
        counts: Counter = Counter()
        for rows in row_sequences:
            counts.update(r for r in rows if r != EMPTY_ROW)
        if symmetric:
            pooled: Counter = Counter()
            for r, n in counts.items():
                for perm in PERMUTATIONS.values():
                    pooled[permute_row(r, perm)] += n
            counts = pooled
        chosen: list[str] = []
        seen: set[str] = set()
        for r in ESSENTIAL_ROWS:
            chosen.append(r)
            seen.add(r)
        for r, _n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            if r in seen:
                continue
            group = sorted({permute_row(r, p) for p in PERMUTATIONS.values()}) if symmetric else [r]
            group = [g for g in group if g not in seen]
            if len(chosen) + len(group) > k:
                if symmetric:
                    continue
                break
            chosen += group
            seen.update(group)
        # most frequent first (stable, readable), essentials included in that order
        chosen.sort(key=lambda r: (-counts.get(r, 0), r))
        return cls(chosen)

    def to_dict(self) -> dict:
        return {"rows": list(self.rows)}

    @classmethod
    def from_dict(cls, d: dict) -> "Vocab":
        return cls(d["rows"])

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, row: str) -> bool:
        return row in self.index

    def id(self, row: str) -> int:
        return self.index[row]

    def row(self, token: int) -> str:
        if token < N_SPECIALS:
            raise ValueError(f"token {token} is the special {SPECIALS[token]}, not a row")
        return self.rows[token - N_SPECIALS]

    def decode(self, tokens: Iterable[int]) -> list[str]:
        return [self.row(int(t)) for t in tokens]

    # -- mapping rows outside the vocabulary
    def nearest(self, row: str, open_mask: int = 0) -> str:
        """The in-vocabulary row closest to ``row`` that is allowed after the open holds ``open_mask``.

        Mines are dropped first, rolls become holds, heads become taps, extra notes are dropped; a tail that
        would close an open hold is kept whenever possible (so the hold ends where the chart ends it).
        """
        key = (open_mask, row)
        hit = self._map_cache.get(key)
        if hit is not None:
            return hit
        best, best_cost = None, float("inf")
        for cand in self.rows:
            if row_transition(open_mask, cand) is None:
                continue
            cost = 0.0
            for c in range(COLUMNS):
                o, n = row[c], cand[c]
                if open_mask >> c & 1 and o == TAIL and n != TAIL:
                    cost += 5.0  # the hold would go on past its chart end
                elif not open_mask >> c & 1 and o == TAIL:
                    cost += 0.0 if n == "0" else 3.0  # a dangling tail is meaningless
                elif open_mask >> c & 1 and o != TAIL and n == TAIL:
                    cost += 2.0  # closing a hold early
                else:
                    cost += _char_cost(o, n)
            if cost < best_cost:
                best, best_cost = cand, cost
        assert best is not None, "vocabulary lacks the essential rows"
        self._map_cache[key] = best
        return best

    def map_rows(self, rows: Sequence[str]) -> list[str]:
        """Map a chart's rows into the vocabulary, one output row per input row, keeping holds valid.

        Rows in the vocabulary that the hold state allows are kept; others go to :meth:`nearest`.  Holds
        still open at the end become taps at their head (when that row is in the vocabulary, else the head
        row's nearest hold-free row).
        """
        out: list[str] = []
        heads: dict[int, int] = {}
        mask = 0
        for row in rows:
            new = row if (row in self.index and row_transition(mask, row) is not None) else self.nearest(row, mask)
            for c, ch in enumerate(new):
                if ch in HEADS:
                    heads[c] = len(out)
            mask = row_transition(mask, new)
            out.append(new)
        if mask:
            out = self._close_dangling(out, mask, heads)
        return out

    def _close_dangling(self, out: list[str], mask: int, heads: dict[int, int]) -> list[str]:
        # Convert open heads to taps; if the tapped row is out of vocabulary, use the nearest hold-free row
        # allowed there (it cannot open a hold, so the later rows stay valid).
        for c in range(COLUMNS):
            if not mask >> c & 1:
                continue
            i = heads[c]
            before = open_holds(out[:i])
            tapped = out[i][:c] + "1" + out[i][c + 1:]
            if tapped in self.index and row_transition(before, tapped) is not None:
                out[i] = tapped
            else:
                cands = [r for r in self.rows if row_transition(before, r) is not None
                         and row_transition(before, r) & ~before == 0 and r[c] != TAIL]
                # keep whatever else the row did (closing holds) when possible
                out[i] = min(cands, key=lambda r: (sum(_char_cost(a, b) for a, b in zip(tapped, r)), r))
        return out

    def encode(self, rows: Sequence[str], *, map_unknown: bool = True) -> list[int]:
        """Token ids of a chart's rows (mapped into the vocabulary first when ``map_unknown``)."""
        if map_unknown:
            rows = self.map_rows(rows)
        return [self.index[r] for r in rows]

    def jump_tokens(self) -> list[int]:
        """Ids of rows with two or more arrows to hit at once (taps, hold or roll heads): jumps."""
        return [self.index[r] for r in self.rows if is_jump(r)]

    def mine_only_tokens(self) -> list[int]:
        """Ids of rows holding nothing but mines (no note to step on)."""
        return [self.index[r] for r in self.rows if set(r) <= {"0", "M"}]

    # -- tables for constrained decoding
    def transition_table(self):
        """``(next_mask, allowed)``: int arrays of shape (16, V); ``allowed[m, t]`` is True when token t is a row
        allowed after open holds m (specials never are), ``next_mask[m, t]`` the open holds after it (0 when
        not allowed)."""
        import numpy as np

        n_masks = 1 << COLUMNS
        nxt = np.zeros((n_masks, len(self)), dtype=np.int64)
        allowed = np.zeros((n_masks, len(self)), dtype=bool)
        for m in range(n_masks):
            for i, r in enumerate(self.rows):
                t = row_transition(m, r)
                if t is not None:
                    nxt[m, i + N_SPECIALS] = t
                    allowed[m, i + N_SPECIALS] = True
        return nxt, allowed
