"""benchmarks/sync.py: how it classes the octave and labels a miss, on made-up rows."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks import sync as bench  # noqa: E402


def test_octave_class():
    assert bench.octave_class(210.0, 210.0) == "same"
    assert bench.octave_class(210.015, 210.0) == "same"
    assert bench.octave_class(105.0, 210.0) == "x0.5"
    assert bench.octave_class(420.02, 210.0) == "x2"  # 0.01 BPM off at the human's scale
    assert bench.octave_class(210.05, 210.0) == "none"
    assert bench.octave_class(140.0, 210.0) == "none"


def row(bpm_h: float, start_ms: float, end_ms: float, **extra) -> dict:
    """A benchmark row with our BPM equal to the human's and the given disagreement at both ends."""
    r = {"human_bpm": bpm_h, "bpm": bpm_h, "bpm_err": 0.0, "octave": 1.0, "octave_class": "same",
         "start_ms": start_ms, "end_ms": end_ms, "drift_ms": bench.wrap(end_ms - start_ms, 60000.0 / bpm_h),
         "human_on_grid": 1.0, "human_drift_ms": 0.0, "our_drift_ms": 0.0, "human_beat_after_attack_ms": 0.0,
         "human_beat_after_peak_ms": 0.0, "human_notes_on_beat": 0.6, "human_notes_on_half_beat": 0.3}
    r.update(extra)
    r["ok"] = bench.within(r["bpm_err"], 0.02) and bench.within(start_ms, 10.0)
    r["ok_whole_song"] = r["ok"] and bench.within(end_ms, 10.0)
    r["ok_octave"] = r["ok_whole_song"]
    return r


def test_a_grid_half_a_beat_off_is_labelled_so_whichever_side_each_end_wraps_to():
    # 222.22 BPM: a beat is 270 ms; our grid sits half a beat (135 ms) from the human's at both ends, the start
    # wrapped to +135 and the end to -135 (the same grid, the same BPM: no drift)
    period = 60000.0 / 222.22
    r = row(222.22, period / 2 - 0.5, -period / 2 + 0.5)
    assert abs(r["drift_ms"]) < 2.0
    assert bench._failure_kind(r).startswith("half a beat off")
    assert not bench._failure_kind(r).startswith("BPM differs")


def test_a_real_bpm_difference_is_still_labelled_so():
    r = row(150.0, 2.0, 40.0, bpm=150.05, bpm_err=0.05)
    assert bench._failure_kind(r).startswith("BPM differs (+0.050")


def test_downbeat_agrees_when_the_bar_lines_coincide():
    # the human chart at 120 BPM with beat 0 at t = 0: bar lines at 0, 2, 4 ... s
    assert bench.downbeat_agrees(120.0, 0.0, 120.0, 0.0)
    assert bench.downbeat_agrees(120.0, 2.0, 120.0, 0.0)  # our beat 0 a whole bar earlier: the same bars
    assert bench.downbeat_agrees(120.0, 0.005, 120.0, 0.0)  # 5 ms apart
    assert not bench.downbeat_agrees(120.0, 0.5, 120.0, 0.0)  # one beat off: our downbeat is the human's beat 4
    assert not bench.downbeat_agrees(120.0, 1.0, 120.0, 0.0)  # two beats off
