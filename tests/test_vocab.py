"""State vocabulary, hold validity and arrow permutations (no data or torch needed)."""

import pytest

from ddc_sm.selection.vocab import (END, ESSENTIAL_ROWS, N_SPECIALS, PAD, PERMUTATIONS, SPECIALS, START, Vocab,
                          hold_states, is_valid_sequence, open_holds, permute_row, permute_rows, repair_rows,
                          row_transition, sequence_problems)

CHARTS = [
    ["1000", "0100", "0010", "0001", "1001", "2000", "3000", "0200", "0300", "0M00", "1100"],
    ["0100", "0100", "0020", "0030", "1000", "0001", "2002", "3003", "0110"],
    ["1000", "0001", "0010", "0100", "M000", "4000", "3000", "1010"],
]


def test_specials_have_fixed_ids():
    v = Vocab.build(CHARTS, k=16)
    assert (PAD, START, END) == (0, 1, 2)
    assert v.tokens[:N_SPECIALS] == list(SPECIALS)
    assert all(v.id(r) >= N_SPECIALS for r in v.rows)
    with pytest.raises(ValueError):
        v.row(START)


def test_build_top_k_never_empty_and_essentials():
    v = Vocab.build(CHARTS + [["0000", "1000"]], k=12)
    assert "0000" not in v
    assert len(v.rows) <= 12
    for r in ESSENTIAL_ROWS:
        assert r in v
    assert len(v) == len(v.rows) + N_SPECIALS
    # round trip through a dict (how bundles store it)
    v2 = Vocab.from_dict(v.to_dict())
    assert v2.rows == v.rows and v2.tokens == v.tokens


def test_build_symmetric_keeps_permutation_orbits():
    v = Vocab.build(CHARTS, k=64)
    for r in v.rows:
        for perm in PERMUTATIONS:
            assert permute_row(r, perm) in v


def test_build_is_deterministic():
    assert Vocab.build(CHARTS, k=20).rows == Vocab.build(list(reversed(CHARTS)), k=20).rows


def test_bad_rows_rejected():
    with pytest.raises(ValueError):
        Vocab(["0000"])
    with pytest.raises(ValueError):
        Vocab(["10"])
    with pytest.raises(ValueError):
        Vocab(["1000", "1000"])


def test_permutations():
    assert permute_row("1234", "identity") == "1234"
    assert permute_row("1000", "mirror") == "0001"
    assert permute_row("0100", "mirror") == "0010"
    assert permute_row("1200", "flip_lr") == "0201"
    assert permute_row("0120", "flip_ud") == "0210"
    assert permute_row("1000", "flip_ud") == "1000"
    for name in PERMUTATIONS:  # each is an involution
        assert permute_row(permute_row("12M4", name), name) == "12M4"
    # permutations keep validity
    for rows in CHARTS:
        for name in PERMUTATIONS:
            assert is_valid_sequence(permute_rows(rows, name)) == is_valid_sequence(rows)


def test_validity_rules():
    assert is_valid_sequence(["2000", "0100", "3000"])
    assert is_valid_sequence(["2200", "3000", "0300"])
    assert is_valid_sequence(["4000", "3000"])
    assert not is_valid_sequence(["2000", "1000", "3000"])  # tap inside a hold
    assert not is_valid_sequence(["2000", "M000", "3000"])  # mine inside a hold
    assert not is_valid_sequence(["2000", "2000", "3000"])  # head inside a hold
    assert not is_valid_sequence(["3000"])  # tail without a hold
    assert not is_valid_sequence(["1000", "2000"])  # never closed
    assert not is_valid_sequence(["1000", "0000"])  # empty row
    assert not is_valid_sequence(["10000"])
    assert sequence_problems(["2000", "0100", "3000"]) == []
    assert row_transition(0b0001, "0100") == 0b0001
    assert row_transition(0, "2002") == 0b1001
    assert row_transition(0b1001, "3000") == 0b1000
    assert row_transition(0b1001, "1000") is None
    assert open_holds(["2000", "0020"]) == 0b0101
    assert hold_states(["2000", "0100", "3000", "1000"]) == [0, 1, 1, 0]


def test_repair_rows():
    rows = ["2000", "1100", "3000", "0030", "0200", "1000"]
    fixed = repair_rows(rows)
    assert len(fixed) == len(rows)
    assert is_valid_sequence(fixed)
    assert fixed[1] == "0100" and fixed[3] == "1000" and fixed[4] == "0100"


def test_map_rows_keeps_length_and_validity():
    v = Vocab.build(CHARTS, k=16)
    assert "M0M0" not in v and "1111" not in v
    chart = ["1000", "M0M0", "2200", "0030", "0300", "3000", "1111", "4000", "0M00", "3000", "0003", "2000"]
    mapped = v.map_rows(chart)
    assert len(mapped) == len(chart)
    assert all(r in v for r in mapped)
    assert is_valid_sequence(mapped)
    assert all(t >= N_SPECIALS for t in v.encode(chart))
    # an in-vocabulary valid chart is unchanged
    big = Vocab.build(CHARTS, k=200)
    for rows in CHARTS:
        assert big.map_rows(rows) == rows


def test_nearest_prefers_sensible_rows():
    v = Vocab(list(ESSENTIAL_ROWS) + ["2000", "0200", "1001", "M000"])
    assert v.nearest("1M00") == "1000"  # mine dropped
    assert v.nearest("4000") == "2000"  # roll -> hold
    assert v.nearest("0020") == "0010"  # unknown head -> tap of the same column
    assert v.nearest("3100", 0b0001) == "3000"  # a tail that closes a hold is kept
    assert v.nearest("1000", 0b0001) in ("0100", "0010", "0001", "3000")


def test_jump_tokens_are_rows_with_two_or_more_arrows_to_hit():
    v = Vocab(["1000", "1001", "2002", "1M00", "3003", "0M0M", "2100", "4001", "1003"])
    assert sorted(v.row(t) for t in v.jump_tokens()) == ["1001", "2002", "2100", "4001"]
