"""Tempo maps: the TempoMap timing, the synthetic tempo-change tracks, the estimate, and what make and sync do
with them.  Expected values come from the tracks' known beats."""

import json
from fractions import Fraction

import numpy as np
import pytest
import soundfile

from ddc_sm.audio import synth
from ddc_sm.simfiles.compat import import_simfile
from ddc_sm.timing.grid import ConstantTiming, TempoMap, simfile_timing
from ddc_sm.timing.tempo import estimate_tempo_from_onsets, onset_envelope
from ddc_sm.timing.tempo_map import estimate_tempo_map, shifted_map

SR = 22050


def _map_of(track):
    onset = onset_envelope(track.samples, track.sample_rate)
    best = estimate_tempo_from_onsets(onset).best
    return estimate_tempo_map(onset, best.bpm, best.offset)


def _worst_beat_error(timing, beats: np.ndarray) -> float:
    """The largest distance from a true beat to the grid's beat of the same number; the numbers must run on
    one by one (no beat skipped or doubled)."""
    numbers = np.round(timing.beat_at(beats))
    assert np.all(np.diff(numbers) == 1)
    return float(np.max(np.abs(timing.time_at(numbers) - beats)))


def test_tempo_map_is_continuous_and_inverts():
    grid = TempoMap(1.0, ((0.0, 120.0), (8.0, 60.0), (12.0, 240.0)))
    # beat 0 at -1 s; 8 beats of 0.5 s, then 4 beats of 1 s, then 0.25 s beats
    assert grid.time_at(np.array([0.0, 8.0, 12.0, 16.0])).tolist() == pytest.approx([-1.0, 3.0, 7.0, 8.0])
    t = np.linspace(-2.0, 20.0, 97)
    assert grid.time_at(grid.beat_at(t)) == pytest.approx(t)
    assert grid.seconds_per_beat(np.array([-1.0, 7.9, 8.0, 11.5, 30.0])).tolist() == [0.5, 0.5, 1.0, 1.0, 0.25]
    assert grid.bpm == 120.0 and not grid.constant
    const = TempoMap(0.3, ((0.0, 150.0),))
    ref = ConstantTiming(150.0, 0.3)
    assert const.constant and const.beat_at(t) == pytest.approx(ref.beat_at(t))
    for bad in (((1.0, 120.0),), ((0.0, 120.0), (0.0, 130.0)), ((0.0, -5.0),), ()):
        with pytest.raises(ValueError):
            TempoMap(0.0, bad)


def test_shifted_map_moves_every_beat_and_keeps_beat_zero_before_the_start():
    grid = TempoMap(0.01, ((0.0, 120.0), (16.0, 150.0)))
    later = shifted_map(grid, 0.05)  # beat 0 would be at +0.04 s: a bar is put in front
    assert later.offset >= 0.0
    beats = grid.time_at(np.arange(0, 40)) + 0.05
    assert later.time_at(later.beat_at(beats)) == pytest.approx(beats)
    assert np.allclose(np.diff(later.beat_at(beats)), 1.0)


def test_tempo_change_track_beats_follow_its_bpms():
    track = synth.tempo_change_track([(0, 120.0), (16, 150.0)], 0.5, 20.0, sample_rate=SR)
    beats = track.beat_times()
    assert beats[0] == 0.5
    assert np.diff(beats[:17]) == pytest.approx(np.full(16, 0.5))
    assert np.diff(beats[16:]) == pytest.approx(np.full(len(beats) - 17, 0.4))
    assert beats == pytest.approx(TempoMap(-0.5, ((0.0, 120.0), (16.0, 150.0))).time_at(np.arange(len(beats))))


def test_a_constant_song_keeps_one_bpm():
    track = synth.drum_track(128.0, 0.25, 40.0, sample_rate=SR)
    est = _map_of(track)
    assert not est.changed and est.timing.bpms == ((0.0, est.timing.bpm),)
    assert abs(est.timing.bpm - 128.0) < 0.01


@pytest.mark.parametrize("bpms", [[(0, 120.0), (64, 135.0)], [(0, 100.0), (48, 93.88), (112, 101.3)]])
def test_tempo_steps_are_found_within_10_ms(bpms):
    track = synth.tempo_change_track(bpms, 0.5, 90.0, sample_rate=SR)
    est = _map_of(track)
    assert est.changed
    assert [v for _, v in est.timing.bpms] == pytest.approx([v for _, v in bpms], abs=0.05)
    assert _worst_beat_error(est.timing, track.beat_times()) <= 0.010
    # changes fall on whole beats, beat 0 at or before the start
    assert all(float(b).is_integer() for b, _ in est.timing.bpms) and est.timing.offset >= 0.0


@pytest.mark.parametrize("make", [lambda: synth.free_tempo_track(40.0, sample_rate=SR, seed=0),
                                  lambda: synth.noise_track(30.0, sample_rate=SR)])
def test_audio_without_a_steady_beat_gets_no_tempo_map(make):
    assert not _map_of(make()).changed


def test_a_tempo_ramp_is_followed_within_10_ms():
    track = synth.tempo_ramp_track(120.0, 125.0, 60.0, sample_rate=SR)
    est = _map_of(track)
    assert est.changed and len(est.timing.bpms) >= 2
    assert _worst_beat_error(est.timing, track.beat_times()) <= 0.010


@pytest.fixture(scope="module")
def step_song(tmp_path_factory):
    """A 120 -> 135 BPM song (the change at beat 64; beat 0 of the music at 0.5 s) in a folder of its own."""
    folder = tmp_path_factory.mktemp("steps")
    track = synth.tempo_change_track([(0, 120.0), (64, 135.0)], 0.5, 60.0)
    path = folder / "steps.wav"
    soundfile.write(path, track.samples, track.sample_rate)
    return path, track.beat_times()


def _make(*args) -> int:
    from ddc_sm.commands.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["make", *map(str, args), "--quiet"])
    return exc.value.code


def test_make_writes_the_tempo_changes_and_steps_land_on_the_music(step_song, tmp_path):
    src, beats = step_song
    song = tmp_path / "S" / src.name
    song.parent.mkdir()
    song.write_bytes(src.read_bytes())
    assert _make(song, "-d", "medium", "--formats", "sm") == 0
    sf = import_simfile()
    sim = sf.open(str(song.with_suffix(".sm")))
    entries = [e.split("=") for e in sim.bpms.split(",")]
    assert [float(v) for _, v in entries] == pytest.approx([120.0, 135.0], abs=0.05)
    # StepMania's own reading of the file (simfile's timing engine) puts the change on the music's beat 64
    timing = simfile_timing(song.with_suffix(".sm"))
    change = float(entries[1][0])
    assert float(timing.time_at(np.array([change]))[0]) == pytest.approx(beats[64], abs=0.010)
    # and every note on a 16th of the music's own beats
    (chart,) = sim.charts
    note_times = timing.time_at(np.array([float(Fraction(n.beat)) for n in sf.notes.NoteData(chart)]))
    beats = np.append(beats, 2 * beats[-1] - beats[-2])  # one beat after the last, for the notes after it
    sixteenths = np.concatenate([b + np.arange(4) * (e - b) / 4 for b, e in zip(beats[:-1], beats[1:])])
    assert len(note_times) > 20
    assert np.max(np.min(np.abs(note_times[:, None] - sixteenths[None, :]), axis=1)) <= 0.010


def test_make_bpm_forces_a_constant_grid(step_song, tmp_path):
    src, _beats = step_song
    song = tmp_path / "S" / src.name
    song.parent.mkdir()
    song.write_bytes(src.read_bytes())
    assert _make(song, "-d", "easy", "--formats", "sm", "--bpm", "120", "--offset", "1.5") == 0
    sim = import_simfile().open(str(song.with_suffix(".sm")))
    assert "," not in sim.bpms.strip() and float(sim.bpms.split("=")[1]) == 120.0


def test_sync_prints_the_segments(step_song, capsys):
    from ddc_sm.commands.sync import run_sync

    src, _beats = step_song
    assert run_sync(src, as_json=True) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["tempo_map"]["changes"] is True
    assert [s["bpm"] for s in doc["tempo_map"]["segments"]] == pytest.approx([120.0, 135.0], abs=0.05)
    assert doc["tempo_map"]["fit"]["fits"] is True
    assert run_sync(src) == 0
    assert "the tempo changes (make writes these #BPMS): 2 segments: 120 BPM" in capsys.readouterr().out
