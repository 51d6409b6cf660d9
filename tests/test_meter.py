"""ddc_sm.simfiles.meter: the regressor's features and estimate on hand-built charts, and the written meters of a
song (strictly increasing, within the ranges, beside existing charts' meters for --add)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from ddc_sm import DIFFICULTIES
from ddc_sm.simfiles.dataset import chart_meters
from ddc_sm.simfiles.meter import (CANDIDATES, COEFFICIENTS, FEATURES, METER_RANGE, OFFSETS, estimate_meter,
                                   meter_features, song_meters)

ARROWS = ("1000", "0100", "0010", "0001")


def chart(bpm: float, per_beat: int, beats: int, start_beat: int = 0):
    """``per_beat`` single steps per beat (1: quarters, 2: 8ths, 4: 16ths), cycling the arrows, for ``beats``
    beats from ``start_beat``, at a constant ``bpm``: (times, rows, beats)."""
    grid = [Fraction(start_beat) + Fraction(k, per_beat) for k in range(beats * per_beat)]
    return [float(b) * 60.0 / bpm for b in grid], [ARROWS[k % 4] for k in range(len(grid))], grid


# ---- features -------------------------------------------------------------------------------------------
def test_features_of_a_hand_built_chart():
    # 120 BPM, 8th notes for 32 beats: 64 steps, 2 beats = 1 s per 4 steps -> 4 steps per second throughout
    times, rows, beats = chart(120.0, 2, 32)
    f = meter_features(times, rows, beats)
    assert f["steps_per_second"] == pytest.approx(4.0)
    assert f["log_steps_per_second"] == pytest.approx(math.log(4.0))
    assert f["nps_peak"] == pytest.approx(4.0)  # 8 steps in any 2 s window
    assert f["stream_measure_share"] == 0.0  # 8 steps a measure: no stream measure (16+)
    assert f["log_longest_stream"] == 0.0  # no 16ths
    assert f["jump_share"] == 0.0 and f["hold_share"] == 0.0
    assert "radar_stream" not in f  # no song length given
    # 16ths for 8 beats: 32 steps, 2 measures of 16 steps: both stream measures
    times, rows, beats = chart(120.0, 4, 8)
    f = meter_features(times, rows, beats, song_seconds=10.0)
    assert f["stream_measure_share"] == 1.0
    assert f["log_longest_stream"] == pytest.approx(math.log(33))
    assert f["radar_stream"] == pytest.approx(32 / 10 / 7)  # notes / seconds / 7
    assert set(meter_features(times, rows, beats, names=FEATURES)) == set(FEATURES)
    with pytest.raises(ValueError):
        meter_features(times, rows, beats, names=["no such figure"])


def test_the_fitted_model_is_complete():
    assert set(FEATURES) <= set(CANDIDATES) and set(COEFFICIENTS) == set(FEATURES)
    assert set(OFFSETS) == set(DIFFICULTIES)
    assert list(OFFSETS.values()) == sorted(OFFSETS.values())  # the same chart reads harder under a harder name


def test_a_denser_chart_gets_no_lower_meter_than_a_sparser_one_of_the_same_difficulty():
    # 140 BPM, 64 beats each: quarters, 8ths, 8ths with a 16th burst, 16ths throughout
    sparse = chart(140.0, 1, 64)
    eighths = chart(140.0, 2, 64)
    burst = tuple(a + b for a, b in zip(chart(140.0, 2, 56), chart(140.0, 4, 8, start_beat=56)))
    stream = chart(140.0, 4, 64)
    for difficulty in DIFFICULTIES:
        estimates = [estimate_meter(difficulty, *c) for c in (sparse, eighths, burst, stream)]
        assert estimates == sorted(estimates) and estimates[0] < estimates[-1]
        written = [song_meters({difficulty: e})[difficulty] for e in estimates]
        assert written == sorted(written)


def test_an_empty_or_one_step_chart_has_a_meter():
    for times, rows, beats in (([], [], []), ([1.0], ["1000"], [Fraction(2)])):
        e = estimate_meter("Medium", times, rows, beats)
        assert math.isfinite(e)
        assert song_meters({"Medium": e}) == {"Medium": 4}  # the bottom of Medium's range


# ---- written meters -------------------------------------------------------------------------------------
def test_meters_are_strictly_increasing_and_nearest_to_the_estimates():
    # estimates too close for whole meters: the nearest strictly increasing choice (|2-3|+|3-3.2|+|4-3.4| = 1.8,
    # against 2.4 for 3, 4, 5)
    assert song_meters({"Beginner": 3.0, "Easy": 3.2, "Medium": 3.4}) == {"Beginner": 2, "Easy": 3, "Medium": 4}
    # the old code gave Easy and Medium 5 each here; now 5 and 6 (|5-5.4|+|6-5.2| = 1.2 < 1.4 for 4 and 5)
    assert song_meters({"Easy": 5.4, "Medium": 5.2}) == {"Easy": 5, "Medium": 6}
    # well-separated estimates are simply rounded
    assert song_meters({"Beginner": 1.8, "Medium": 5.6, "Challenge": 11.4}) == {"Beginner": 2, "Medium": 6,
                                                                                "Challenge": 11}
    # the same estimate for all five: Beginner at its top (3), then the nearest chain to 7 above it
    assert song_meters({d: 7.0 for d in DIFFICULTIES}) == {"Beginner": 3, "Easy": 5, "Medium": 6, "Hard": 7,
                                                           "Challenge": 8}


def test_meters_stay_within_their_ranges():
    assert song_meters({d: 0.0 for d in DIFFICULTIES}) == {d: lo for d, (lo, _hi) in METER_RANGE.items()}
    assert song_meters({d: 100.0 for d in DIFFICULTIES}) == {d: hi for d, (_lo, hi) in METER_RANGE.items()}
    for d, (lo, hi) in METER_RANGE.items():
        for e in (-5.0, lo - 0.4, (lo + hi) / 2, hi + 0.4, 40.0):
            assert lo <= song_meters({d: e})[d] <= hi


def test_add_fits_new_meters_strictly_between_the_existing_ones():
    existing = {"Beginner": 2, "Hard": 9}
    # Easy above Beginner 2 (3); Medium below Hard 9 and in 4..8 (8, nearest to 9.5); Challenge above 9 (10)
    assert song_meters({"Easy": 3.0, "Medium": 9.5, "Challenge": 8.0}, existing) == {"Easy": 3, "Medium": 8,
                                                                                       "Challenge": 10}
    # existing meters are never changed, and a difficulty in both is not compared with itself
    assert song_meters({"Hard": 7.2}, {"Hard": 9, "Challenge": 10}) == {"Hard": 7}


def test_add_when_the_existing_meters_leave_no_room():
    # no whole meter strictly between Easy 4 and Hard 5: Medium ties with one of them, the nearer to its estimate
    assert song_meters({"Medium": 6.0}, {"Easy": 4, "Hard": 5}) == {"Medium": 5}
    assert song_meters({"Medium": 2.0}, {"Easy": 4, "Hard": 5}) == {"Medium": 4}
    # strictly increasing beats the range: above a Beginner rated 8, Easy gets 9 (Easy's range is 2..5)
    assert song_meters({"Easy": 4.0}, {"Beginner": 8}) == {"Easy": 9}
    # human meters out of order (Easy 7, Medium 5): a new Hard reads above both, and ties with neither
    assert song_meters({"Hard": 6.0}, {"Easy": 7, "Medium": 5}) == {"Hard": 8}
    # two new charts squeezed between Beginner 1 and Challenge 4: Easy 2, Medium 3 (Medium below its range)
    assert song_meters({"Easy": 3.0, "Medium": 6.0}, {"Beginner": 1, "Challenge": 4}) == {"Easy": 2, "Medium": 3}
    # no room for three charts between Beginner 1 and Challenge 3: no order broken; the fewest ties are two (only
    # 2 ties with neither existing meter); of those, Easy 2, Medium 2, Hard 3 is the least outside the ranges
    # (Medium 2 below, Hard 3 below: 5 meter steps, against 6 for 2, 2, 2 and for 1, 2, 3)
    assert song_meters({"Easy": 2.0, "Medium": 4.0, "Hard": 6.0}, {"Beginner": 1, "Challenge": 3}) == {
        "Easy": 2, "Medium": 2, "Hard": 3}


def test_chart_meters_reads_whole_meters_of_dance_single_charts(tmp_path):
    from simfile_builders import simple_notes, sm_chart, sm_text

    path = tmp_path / "song.sm"
    path.write_text(sm_text([sm_chart(simple_notes(), difficulty="Easy", meter=3),
                             sm_chart(simple_notes(), difficulty="Hard", meter="x"),  # not a number: left out
                             sm_chart(simple_notes(), difficulty="Challenge", meter=12),
                             sm_chart(simple_notes(), difficulty="Challenge", meter=13),  # the first one counts
                             sm_chart(simple_notes(), stepstype="dance-double", difficulty="Medium", meter=7)]),
                    encoding="utf-8")
    assert chart_meters(path) == {"Easy": 3, "Challenge": 12}
