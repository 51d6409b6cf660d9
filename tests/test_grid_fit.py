"""How a beat grid fits the audio (ddc_sm.timing.alignment), make's fallback when it does not, and sync's report.

Every expected value comes from the synthesised track: its BPM and first beat are known exactly, and a grid moved
by a known lag must report that lag.  Sign (see the module docstring): the lag is the grid minus the audio, so a
grid whose beats come 54 ms after the kicks has a lag of +54 ms and fits at #OFFSET + 0.054.
"""

import json
import re
from fractions import Fraction

import numpy as np
import pytest
import soundfile

from ddc_sm.audio import synth
from ddc_sm.commands.cli import main
from ddc_sm.simfiles.compat import import_simfile
from ddc_sm.timing.alignment import LAG_LIMIT_S, grid_alignment, misfit_warning
from ddc_sm.timing.grid import GRID_RULES, ConstantTiming, snap_steps, snap_times
from ddc_sm.timing.tempo import onset_envelope

SR = 22050  # the analysis rate: no resampling


@pytest.fixture(scope="module")
def track128():
    track = synth.drum_track(128.0, 0.25, 32.0, sample_rate=SR, seed=7)
    return track, onset_envelope(track.samples, SR)


def grid(bpm: float, first_beat: float, late_s: float = 0.0) -> ConstantTiming:
    """The grid whose beat 0 is at ``first_beat + late_s`` (StepMania's #OFFSET is minus that)."""
    return ConstantTiming(bpm, -(first_beat + late_s))


def test_the_right_grid_fits_with_no_lag(track128):
    track, onset = track128
    fit = grid_alignment(onset, grid(128.0, 0.25))
    assert fit.measured and fit.fits
    assert abs(fit.lag_s) < 0.002
    assert fit.off_grid < 0.05 and fit.held == 1.0
    assert fit.onsets >= 60  # a kick on each of the 68 beats, at least


@pytest.mark.parametrize("late_s", [0.054, -0.054, 0.030])
def test_a_moved_grid_reports_the_move_as_its_lag_and_does_not_fit(track128, late_s):
    _track, onset = track128
    moved = grid(128.0, 0.25, late_s)
    fit = grid_alignment(onset, moved)
    assert not fit.fits
    assert fit.lag_s == pytest.approx(late_s, abs=0.002)
    assert fit.off_grid > 0.9  # every kick is 30-54 ms from every 16th (117 ms apart at 128 BPM)
    assert fit.off_grid_shifted < 0.05 and fit.holds  # only the offset is wrong
    assert fit.corrected_offset(moved.offset) == pytest.approx(-0.25, abs=0.002)
    words = misfit_warning(fit, "the grid of --offset X", moved.offset)
    assert f"lag {late_s * 1000:+.0f} ms" in words and f"try --offset {-0.25:.3f}" in words


def test_at_200_bpm_a_54_ms_lag_is_not_read_as_a_21_ms_one():
    # a 16th at 200 BPM is 75 ms: moved 54 ms late, the kicks sit 21 ms before the grid's next 16th
    track = synth.drum_track(200.0, 0.4, 30.0, sample_rate=SR, seed=3)
    onset = onset_envelope(track.samples, SR)
    assert grid_alignment(onset, grid(200.0, 0.4)).fits
    fit = grid_alignment(onset, grid(200.0, 0.4, 0.054))
    assert fit.lag_s == pytest.approx(0.054, abs=0.003) and not fit.fits


def test_a_grid_a_16th_off_does_not_fit(track128):
    _track, onset = track128
    sixteenth = 60.0 / 128.0 / 4
    fit = grid_alignment(onset, grid(128.0, 0.25, sixteenth))
    assert not fit.fits
    assert abs(fit.lag_s) == pytest.approx(sixteenth, abs=0.003)  # a 16th either way puts the beats back


def test_a_wrong_bpm_does_not_hold(track128):
    _track, onset = track128
    fit = grid_alignment(onset, grid(128.0 * 1.003, 0.25))  # 0.3 % fast: 95 ms off after 32 s
    assert not fit.holds and not fit.fits
    assert "check --bpm" in misfit_warning(fit, "the grid", 0.0)


def test_too_few_onsets_measure_nothing():
    track = synth.click_track(120.0, 0.1, 3.0, sample_rate=SR)  # 6 clicks
    fit = grid_alignment(onset_envelope(track.samples, SR), grid(120.0, 0.1, 0.05))
    assert not fit.measured and fit.fits
    silent = grid_alignment(onset_envelope(np.zeros(SR * 5, np.float32), SR), grid(120.0, 0.0))
    assert not silent.measured and silent.fits


def test_a_simfile_timing_measures_like_the_constant_grid(tmp_path, track128):
    from simfile_builders import sm_chart, simple_notes, sm_text

    from ddc_sm.timing.grid import simfile_timing

    _track, onset = track128
    path = tmp_path / "song.sm"
    path.write_text(sm_text([sm_chart(simple_notes())], bpms="0.000=128.000", offset="-0.304"), encoding="utf-8")
    engine = grid_alignment(onset, simfile_timing(path))
    constant = grid_alignment(onset, ConstantTiming(128.0, -0.304))
    # simfile's TimingEngine rounds beats to 1/48 (10 ms at 128 BPM), so the two agree to about a ms
    assert engine.lag_s == pytest.approx(constant.lag_s, abs=0.0015)
    assert engine.lag_s == pytest.approx(0.054, abs=0.003)


def test_snap_steps_falls_back_to_the_nearest_slots_only_when_the_rule_keeps_too_few():
    bpm = 128.0
    period = 60.0 / bpm
    steps = 0.25 + period * np.arange(32) / 2  # on every 8th of the music
    rule = GRID_RULES["Beginner"]
    right = grid(bpm, 0.25)
    kept = snap_steps(steps, right, rule)
    assert not kept.loosened and kept.beats == snap_times(steps, right, rule)
    late = grid(bpm, 0.25, 0.054)  # every step 54 ms before an 8th of the grid: more than the 35 ms tolerance
    assert snap_times(steps, late, rule) == []
    loose = snap_steps(steps, late, rule)
    assert loose.loosened and loose.kept == 0 and len(loose.beats) == loose.kept_nearest >= 31
    assert all((b * 2).denominator == 1 for b in loose.beats)  # still Beginner's notes: 8ths at the finest
    assert all(b2 - b1 >= Fraction(1, 2) for b1, b2 in zip(loose.beats, loose.beats[1:]))


# ------------------------------------------------------------------------------------------------
# make and sync with the shipped weights on the fixture (128 BPM, beat 0 at 0.250 s)

sf = import_simfile()


def step_counts(path):
    return {c.difficulty: sum(1 for _ in sf.notes.NoteData(c)) for c in sf.open(str(path)).charts}


def test_make_with_a_wrong_offset_writes_steps_and_says_what_to_use(copy_fixture_song, capsys):
    song = copy_fixture_song("song/synth_128bpm.ogg")
    with pytest.raises(SystemExit) as exc:
        main(["make", str(song), "--bpm", "128", "--offset", "-0.304", "--quiet"])  # the grid 54 ms late
    assert exc.value.code == 0
    err = capsys.readouterr().err
    misfit = [line for line in err.splitlines() if "does not fit the audio" in line]
    assert len(misfit) == 1 and misfit[0].startswith("warning: the grid of --bpm 128 --offset -0.304")
    assert "lag +54 ms" in misfit[0] and "try --offset -0.250" in misfit[0]
    assert "went to its nearest allowed slot" in err
    counts = step_counts(song.with_suffix(".ssc"))
    assert set(counts) == {"Beginner", "Easy", "Medium", "Hard", "Challenge"}
    assert min(counts.values()) >= 16  # 32 s of drums: no chart empty, none nearly so
    assert float(sf.open(str(song.with_suffix(".sm"))).offset) == pytest.approx(-0.304)  # the user's grid, kept


def test_make_with_the_right_grid_gives_no_grid_warning(copy_fixture_song):
    from ddc_sm.pipeline.make import make_charts

    song = copy_fixture_song("right/synth_128bpm.ogg")
    result = make_charts(song, ["Easy"], bpm=128.0, offset=-0.25)
    assert result.alignment.fits and abs(result.alignment.lag_s) < 0.003
    assert not any("does not fit" in w for w in result.warnings)  # neither the audio nor the steps


def test_make_add_measures_the_existing_charts_timing(copy_fixture_song):
    from ddc_sm.pipeline.make import make_charts

    song = copy_fixture_song("add/synth_128bpm.ogg")
    make_charts(song, ["Easy"], bpm=128.0, offset=-0.25)
    for path in (song.with_suffix(".sm"), song.with_suffix(".ssc")):  # a charter's #OFFSET 54 ms late
        path.write_text(path.read_text(encoding="utf-8").replace("#OFFSET:-0.250", "#OFFSET:-0.304"),
                        encoding="utf-8")
    result = make_charts(song, ["Beginner"], add=True)
    (misfit,) = [w for w in result.warnings if "does not fit the audio" in w]
    assert misfit.startswith("the timing of synth_128bpm.ssc (--add keeps it)")
    # simfile's TimingEngine rounds beats to 1/48 (10 ms at 128 BPM), so the lag comes within a ms or two
    lag_ms, fits_at = re.search(r"lag \+(\d+) ms.*its #OFFSET would fit at (-?[\d.]+)", misfit).groups()
    assert abs(int(lag_ms) - 54) <= 2 and float(fits_at) == pytest.approx(-0.25, abs=0.002)
    assert step_counts(song.with_suffix(".ssc"))["Beginner"] >= 16


def run_sync(*args):
    with pytest.raises(SystemExit) as exc:
        main(["sync", *map(str, args)])
    return exc.value.code


@pytest.fixture(scope="module")
def sync_song(tmp_path_factory):
    track = synth.drum_track(128.0, 0.25, 20.0, sample_rate=SR, seed=5)
    path = tmp_path_factory.mktemp("sync_fit") / "song.wav"
    soundfile.write(path, track.samples, SR)
    return path


def test_sync_json_has_the_fit_of_the_estimate_and_of_a_given_grid(sync_song, capsys):
    assert run_sync(sync_song, "--json", "--bpm", "128", "--offset", "-0.304") == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    fit = doc["fit"]
    assert fit["fits"] is True and abs(fit["lag_ms"]) < 3
    assert {"lag_ms", "off_grid", "off_grid_after_lag", "held", "strong_onsets", "offset_that_fits"} <= set(fit)
    given = doc["given"]
    assert given["bpm"] == 128.0 and given["offset"] == -0.304
    assert given["fit"]["fits"] is False and given["fit"]["lag_ms"] == pytest.approx(54, abs=2)
    assert given["fit"]["off_grid"] > 0.9 and given["fit"]["offset_that_fits"] == pytest.approx(-0.25, abs=0.002)
    assert "warning: the grid of --bpm 128 --offset -0.304 does not fit the audio: lag +54 ms" in captured.err


def test_sync_table_prints_the_fit_and_a_lone_bpm_is_an_error(sync_song, capsys):
    assert run_sync(sync_song) == 0
    captured = capsys.readouterr()
    assert "fit of #1: lag 0 ms" in captured.out and ": fits" in captured.out and captured.err == ""
    assert run_sync(sync_song, "--bpm", "128") == 2
    assert "give both" in capsys.readouterr().err


def test_lag_limit_is_what_the_verdict_uses(track128):
    _track, onset = track128
    inside = grid_alignment(onset, grid(128.0, 0.25, LAG_LIMIT_S - 0.005))
    outside = grid_alignment(onset, grid(128.0, 0.25, LAG_LIMIT_S + 0.005))
    assert inside.fits and not outside.fits


def test_the_benchmark_runs_on_synthesised_tracks():
    from benchmarks.grid_fit import MovedTiming, evaluate_synthetic, wrapped_ms

    assert wrapped_ms(54.0, 75.0) == pytest.approx(-21.0) and wrapped_ms(-10.0, 75.0) == pytest.approx(-10.0)
    moved = MovedTiming(ConstantTiming(120.0, 0.0), 0.05)
    assert moved.beat_at([0.55])[0] == pytest.approx(1.0) and moved.time_at([1.0])[0] == pytest.approx(0.55)
    summary = evaluate_synthetic(2, 0, lambda _line: None)["summary"]
    assert summary["right_grid_ok"] == summary["tracks"] == 2
    assert summary["moved_ok"] == summary["moved"] and summary["wrong_bpm_flagged"] == 2
