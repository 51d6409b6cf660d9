"""ddc_sm.simfiles.footing on hand-built charts whose footing and tech follow from the definitions in its docstring."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from ddc_sm.simfiles.footing import (DOUBLESTEP_GAP_S, JACK_GAP_S, TECH, assign_feet, breakdown_text,
                                     pattern_stats, radar_values, stream_stats, tech_counts)

ARROW = {"L": "1000", "D": "0100", "U": "0010", "R": "0001"}


def chart(pattern: str, gap: float):
    """Rows of a pattern such as ``"L D U R"`` (a word that is not an arrow is a row as it is), ``gap`` s apart."""
    rows = [ARROW.get(word, word) for word in pattern.split()]
    return rows, [k * gap for k in range(len(rows))]


def feet_of(footing) -> list[str]:
    """The foot of each single-panel step row, '+' joined for jumps: ['L', 'R', 'L+R', ...]."""
    return ["+".join(ch for ch in marks if ch in "LR") for marks in footing.feet]


def tech(footing) -> dict:
    return {k: getattr(footing.counts, k) for k in TECH}


NONE = {k: 0 for k in TECH}
EIGHTHS_150 = 0.2  # an 8th at 150 BPM
SIXTEENTHS_150 = 0.1


def test_alternating_feet_without_crossing_have_no_tech():
    # the left foot only ever goes to Left, Down or Up and the right foot to Right, Down or Up: nobody crosses
    rows, times = chart("L D L U L R D R U R", EIGHTHS_150)
    footing = assign_feet(rows, times)
    assert feet_of(footing) == ["L", "R"] * 5
    assert tech(footing) == NONE
    assert footing.counts.steps == 10


@pytest.mark.parametrize("pattern", ["L U R", "L D R", "R U L", "R D L"])
def test_a_side_to_side_turn_is_one_crossover(pattern):
    # alternating feet put the first foot on the far side of the other on the third step; doublestepping
    # instead would cost far more
    footing = assign_feet(*chart(pattern, EIGHTHS_150))
    first = "L" if pattern[0] == "L" else "R"
    other = "R" if first == "L" else "L"
    assert feet_of(footing) == [first, other, first]
    assert tech(footing) == {**NONE, "crossovers": 1}


def test_a_slow_turn_is_stepped_with_the_nearer_foot():
    # with a second between steps, a doublestep costs little (the footing's choice, in the module docstring):
    # no crossover, and the doublestep is slower than DOUBLESTEP_GAP_S so it is not counted either
    footing = assign_feet(*chart("L U R", 1.0))
    assert feet_of(footing) in (["L", "L", "R"], ["L", "R", "R"])
    assert tech(footing) == NONE


def test_a_stream_of_left_right_has_no_doublesteps_or_jacks():
    footing = assign_feet(*chart(" ".join("LR" * 16), SIXTEENTHS_150))
    assert feet_of(footing) == ["L", "R"] * 16
    assert tech(footing) == NONE


def test_the_same_panel_twice_fast_is_a_jack_and_slow_is_not():
    fast = assign_feet(*chart("L L", SIXTEENTHS_150))
    assert feet_of(fast) == ["L", "L"]  # the right foot would have to cross over for a sideswitch
    assert tech(fast) == {**NONE, "jacks": 1}
    slow = assign_feet(*chart("L L", 0.5))
    assert feet_of(slow) == ["L", "L"]
    assert tech(slow) == NONE  # 0.5 s is beyond JACK_GAP_S
    assert JACK_GAP_S < 0.5


def test_a_jump_next_to_the_left_foot_is_a_bracket():
    footing = assign_feet(*chart("L 1100", SIXTEENTHS_150))
    assert footing.feet == ["L...", "LL.."]
    assert tech(footing) == {**NONE, "brackets": 1}


def test_a_repeated_up_between_sides_is_a_footswitch():
    # L U U R fast: alternating feet hit Up with the right foot, then with the left
    footing = assign_feet(*chart("L U U R", SIXTEENTHS_150))
    assert feet_of(footing) == ["L", "R", "L", "R"]
    assert tech(footing) == {**NONE, "footswitches": 1}


def test_a_hold_pins_its_foot_until_the_tail():
    # the left foot holds Left from the head to the tail; the right foot takes D U D alone, which is no
    # doublestep (it cannot alternate); after the tail both feet are free again
    rows, times = chart("2000 D U D 3000 R L", EIGHTHS_150)
    footing = assign_feet(rows, times)
    assert footing.step_rows == [0, 1, 2, 3, 5, 6]  # the tail row is no step
    assert feet_of(footing) == ["L", "R", "R", "R", "R", "L"]
    assert tech(footing) == NONE


def test_rows_no_foot_can_take_still_get_a_footing():
    # both feet hold, then a tap on Down: the holds are let go rather than failing
    rows, times = chart("2002 D 3003", EIGHTHS_150)
    footing = assign_feet(rows, times)
    assert len(footing.feet) == 2 and footing.feet[1].count(".") == 3


def test_mines_and_tails_are_not_steps():
    rows, times = chart("L M000 0M00 R", EIGHTHS_150)
    footing = assign_feet(rows, times)
    assert footing.step_rows == [0, 3]
    assert feet_of(footing) == ["L", "R"]


def test_an_empty_chart_has_no_tech():
    footing = assign_feet([], [])
    assert footing.feet == [] and tech(footing) == NONE and footing.counts.steps == 0
    assert footing.counts.per_100() == NONE


# ---- the definitions, on a given footing ---------------------------------------------------------------------
def counts(pattern: str, feet: str, gap: float) -> dict:
    """Tech of a pattern played with the given feet (one L/R per step row, ``LR`` for a jump in column order)."""
    rows, times = chart(pattern, gap)
    marks = []
    for row, f in zip([r for r in rows if "1" in r or "2" in r], feet.split()):
        it = iter(f)
        marks.append("".join(next(it) if ch in "124" else "." for ch in row))
    return {k: v for k, v in tech_counts(rows, times, marks).to_dict().items() if k in TECH}


def test_doublestep_is_the_same_foot_on_two_panels_in_a_row_within_its_gap():
    assert counts("L D", "L L", 0.2) == {**NONE, "doublesteps": 1}
    assert DOUBLESTEP_GAP_S < 0.3
    assert counts("L D", "L L", 0.3) == NONE  # slower than DOUBLESTEP_GAP_S
    assert counts("L D", "L R", 0.2) == NONE
    assert counts("L 1001 D", "L LR L", 0.2) == NONE  # a jump in between: no two single steps in a row
    assert counts("2000 D U 3000", "L R R", 0.2) == NONE  # across a hold


def test_footswitch_and_sideswitch_are_the_other_foot_on_the_same_panel():
    assert counts("D D", "L R", 0.2) == {**NONE, "footswitches": 1}
    assert counts("U U", "R L", 0.2) == {**NONE, "footswitches": 1}
    assert counts("L L", "L R", 0.2) == {**NONE, "sideswitches": 1}
    assert counts("R R", "R L", 0.2) == {**NONE, "sideswitches": 1}
    assert counts("D D", "L R", 0.35) == NONE  # slower than FOOTSWITCH_GAP_S
    assert counts("D D", "L L", 0.1) == {**NONE, "jacks": 1}


def test_crossover_is_a_foot_beyond_the_other_right_after_it():
    assert counts("L U R", "L R L", 0.2)["crossovers"] == 1
    assert counts("L U R", "L L R", 0.2) == {**NONE, "doublesteps": 1}
    assert counts("R D L", "R L R", 0.2)["crossovers"] == 1
    # L D R U L: the left foot crosses to Right, then the right foot steps on Up while the left is still on
    # Right (beyond it), then the left foot comes back
    assert counts("L D R U L", "L R L R L", 0.2)["crossovers"] == 2
    assert counts("L U D R", "L R L R", 0.2)["crossovers"] == 0  # Up and Down are side by side, not beyond


def test_bracket_counts_each_foot_on_two_panels_in_a_jump():
    assert counts("1100", "LL", 0.2) == {**NONE, "brackets": 1}
    assert counts("1111", "LLRR", 0.2) == {**NONE, "brackets": 2}
    assert counts("1100", "LR", 0.2) == NONE


# ---- streams ---------------------------------------------------------------------------------------------------
def stream_chart():
    """Measure 0: 16 16ths; measure 1: nothing (a mine); measure 2: 8 8ths; measure 3: 16 16ths.  120 BPM."""
    beats = [Fraction(k, 4) for k in range(16)] + [Fraction(5)] + [8 + Fraction(k, 2) for k in range(8)] \
        + [12 + Fraction(k, 4) for k in range(16)]
    rows = ["1000" if k % 2 == 0 else "0001" for k in range(16)] + ["M000"] + ["0100"] * 8 + \
        ["0010" if k % 2 == 0 else "0100" for k in range(16)]
    times = [float(b) / 2 for b in beats]  # 2 beats a second
    return rows, beats, times


def test_stream_stats_from_beats():
    rows, beats, times = stream_chart()
    s = stream_stats(rows, beats=beats, times=times)
    assert s.longest_stream == 16  # measures 0 and 3
    assert s.runs_16th == 2
    assert s.longest_8th_run == 9  # beats 8, 8.5, ..., 11.5 and the 16ths' first step at beat 12
    assert s.runs_8th == 1
    assert (s.measures, s.rest_measures, s.rest_share) == (4, 1, 0.25)  # measure 1 has only a mine
    assert s.stream_measures == 2 and s.breakdown == "1 (2) 1"
    # 40 steps: 12 on quarters (4 in each measure with steps), 12 on 8ths, 16 on 16ths
    assert s.note_values == {4: 12 / 40, 8: 12 / 40, 16: 16 / 40}
    assert s.nps_peak == pytest.approx(8.0)  # 16ths at 120 BPM: 16 steps in any 2 s of a 16th measure


def test_stream_stats_from_times_and_bpm_match_beats():
    rows, beats, times = stream_chart()
    assert stream_stats(rows, times=times, bpm=120.0) == stream_stats(rows, beats=beats, times=times)
    with pytest.raises(ValueError):
        stream_stats(rows, times=times)


def test_breakdown_text():
    assert breakdown_text([False, True, True, False, False, True, False]) == "2 (2) 1"
    assert breakdown_text([False, False]) == "-"
    assert breakdown_text([]) == "-"


# ---- groove radar ---------------------------------------------------------------------------------------------
def test_radar_values_follow_stepmania_5():
    # beats 0..7: quarter taps; 8: a jump; 9: a hold head, its tail at 10; 10.5: a mine; 11.25: a tap (16th)
    rows = ["1000", "0100", "0010", "0001"] * 2 + ["1001", "2000", "3000", "0M00", "0010"]
    beats = list(range(8)) + [8, 9, 10, Fraction(21, 2), Fraction(45, 4)]
    r = radar_values(rows, beats, song_seconds=10.0)
    notes = 8 + 2 + 1 + 1  # a jump is 2 notes; tails and mines are not notes
    assert r["stream"] == pytest.approx(notes / 10 / 7)
    # most notes in an 8-beat window [b - 8, b]: at beat 8 (beats 0..8: 8 taps + the jump's 2) or at beat 9
    # (beats 1..9: 7 + 2 + 1) = 10; the last beat is 11.25 (the tap), over 10 s
    assert r["voltage"] == pytest.approx(10 / 8 * (11.25 / 10) / 10)
    assert r["air"] == pytest.approx(1 / 10)
    assert r["freeze"] == pytest.approx(1 / 10)
    assert r["chaos"] == pytest.approx(1 / 10 * 0.5)  # only the 16th at 11.25 is off the 8th grid
    assert radar_values(rows, beats, song_seconds=0) == {k: 0.0 for k in r}


def test_rolls_are_not_freeze_and_a_head_without_tail_is_a_tap():
    rows = ["4000", "3000", "0200"]
    r = radar_values(rows, [0, 1, 2], song_seconds=1.0)
    assert r["freeze"] == 0.0
    assert r["stream"] == pytest.approx(2 / 7)


def test_pattern_stats_puts_it_together():
    rows, beats, times = stream_chart()
    p = pattern_stats(rows, times, beats, song_seconds=10.0)
    assert p["steps"] == 40
    assert set(p["tech"]) == set(TECH) and set(p["tech_per_100"]) == set(TECH)
    assert p["stream"]["longest_stream"] == 16
    assert set(p["radar"]) == {"stream", "voltage", "air", "freeze", "chaos"}
    assert pattern_stats(rows, times, beats)["radar"] is None


# ---- against StepMania itself ----------------------------------------------------------------------------------
SM5_PACK = Path(__file__).resolve().parents[2] / "shared" / "data" / "packs" / "StepMania 5"


@pytest.mark.skipif(not SM5_PACK.is_dir(), reason=f"StepMania 5's songs not found at {SM5_PACK} (../shared/data); "
                                                  "skipping the check against the radar values StepMania stored")
def test_radar_values_equal_what_stepmania_stored_in_its_own_songs():
    # StepMania 5's bundled .ssc files carry #RADARVALUES that StepMania computed (the first five: stream,
    # voltage, air, freeze, chaos, over the music's length)
    from ddc_sm.audio.decode import header_duration
    from ddc_sm.simfiles.compat import import_simfile
    from ddc_sm.simfiles.dataset import chart_rows
    from ddc_sm.simfiles.music import song_music

    sf = import_simfile()
    compared = 0
    for path in sorted(SM5_PACK.glob("*/*.ssc")):
        sim = sf.open(str(path), strict=False)
        seconds = header_duration(song_music(path.parent, sim.music))
        for chart in sim.charts:
            stored = [float(v) for v in (chart.get("RADARVALUES") or "").split(",")[:5] if v.strip()]
            if chart.stepstype != "dance-single" or len(stored) < 5 or not any(stored):
                continue
            times, rows, beats = chart_rows(sim, chart)
            ours = radar_values(rows, beats, seconds)
            assert list(ours.values()) == pytest.approx(stored, abs=1e-5), (path.name, chart.difficulty)
            compared += 1
    assert compared >= 10
