"""End-to-end tests of `ddc-sm make` with the shipped weights on synthesised audio."""

import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile

from ddc_sm.commands.cli import main
from ddc_sm.simfiles.compat import import_simfile

sf = import_simfile()
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "synth_128bpm.ogg"


def run_cli(*args):
    """Run the installed CLI in a fresh process; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "ddc_sm", *map(str, args)], capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def make_in_process(*args):
    with pytest.raises(SystemExit) as exc:
        main(["make", *map(str, args), "--quiet"])
    return exc.value.code


@pytest.fixture()
def song(copy_fixture_song):
    return copy_fixture_song('song/synth_128bpm.ogg')


def test_make_writes_sm_and_ssc_that_load(song):
    assert make_in_process(song, "--difficulty", "hard") == 0
    for kind in ("sm", "ssc"):
        sim = sf.open(str(song.with_suffix(f".{kind}")))
        assert sim.music == song.name
        (chart,) = sim.charts
        assert chart.difficulty == "Hard" and chart.stepstype == "dance-single" and int(chart.meter) >= 1
        notes = list(sf.notes.NoteData(chart))
        assert len(notes) > 20
        assert all((Fraction(n.beat) * 16).denominator == 1 for n in notes)  # on the 16-slots-per-beat grid
        bpm = float(sim.bpms.split("=")[1].split(",")[0])
        assert abs(bpm - 128.0) <= 0.05
        # beat 0 lies on a kick of the fixture (kicks at 0.25 s + k * 60/128)
        period = 60.0 / 128.0
        beat0 = -float(sim.offset)
        assert min((beat0 - 0.25) % period, period - (beat0 - 0.25) % period) < 0.010
    assert song.with_suffix(".ssc").read_text(encoding="utf-8").startswith("#VERSION:0.83;")


def test_make_refuses_to_overwrite_and_force_replaces(song):
    assert make_in_process(song, "-d", "easy") == 0
    sm = song.with_suffix(".sm")
    sm.write_text(sm.read_text(encoding="utf-8") + "// my edits\n", encoding="utf-8")
    before = sm.read_text(encoding="utf-8")
    code, out, err = run_cli("make", song, "-d", "easy")
    assert code != 0
    assert "already exist" in err and "Traceback" not in err
    assert sm.read_text(encoding="utf-8") == before
    assert make_in_process(song, "-d", "easy", "--force") == 0
    assert "// my edits" not in sm.read_text(encoding="utf-8")


def test_make_is_deterministic(song, tmp_path):
    assert make_in_process(song, "-d", "medium,challenge") == 0
    first = song.with_suffix(".ssc").read_bytes()
    meters = {c.difficulty: int(c.meter) for c in sf.open(str(song.with_suffix(".ssc"))).charts}
    assert 4 <= meters["Medium"] < meters["Challenge"] <= 15  # strictly increasing, within the ranges
    assert make_in_process(song, "-d", "medium,challenge", "--force") == 0
    assert song.with_suffix(".ssc").read_bytes() == first


def test_add_keeps_existing_charts_and_adds_missing_difficulties(song):
    assert make_in_process(song, "-d", "hard") == 0
    # the existing Hard as a person rated it: 7, in both files; the new meters fit strictly around it
    for kind in ("sm", "ssc"):
        path = song.with_suffix(f".{kind}")
        sim = sf.open(str(path))
        sim.charts[0].meter = "7"
        path.write_text(str(sim), encoding="utf-8")
    hard_before = [c.notes for c in sf.open(str(song.with_suffix(".ssc"))).charts]
    assert make_in_process(song, "-d", "all", "--add") == 0
    for kind in ("sm", "ssc"):
        sim = sf.open(str(song.with_suffix(f".{kind}")))
        assert sorted(c.difficulty for c in sim.charts) == sorted(["Beginner", "Easy", "Medium", "Hard", "Challenge"])
        meters = {c.difficulty: int(c.meter) for c in sim.charts}
        # strictly increasing (the old rule allowed ties), the human meter kept, each new one in its range
        assert meters["Beginner"] < meters["Easy"] < meters["Medium"] < meters["Hard"] == 7 < meters["Challenge"]
        assert 1 <= meters["Beginner"] <= 3 and 2 <= meters["Easy"] <= 5 and 4 <= meters["Medium"] <= 6
        assert 8 <= meters["Challenge"] <= 15
    sim = sf.open(str(song.with_suffix(".ssc")))
    assert [c.notes for c in sim.charts if c.difficulty == "Hard"] == hard_before


def test_user_bpm_and_offset_are_used(song):
    assert make_in_process(song, "-d", "medium", "--bpm", "64", "--offset", "-0.25") == 0
    sim = sf.open(str(song.with_suffix(".sm")))
    assert float(sim.offset) == pytest.approx(-0.25)
    assert sim.bpms.startswith("0.000000=64.000000")


def test_unicode_path(tmp_path):
    target = tmp_path / "ソング ☆" / "曲 ☆.ogg"
    target.parent.mkdir()
    shutil.copy(FIXTURE, target)
    assert make_in_process(target, "-d", "beginner") == 0
    assert sf.open(str(target.with_suffix(".ssc"))).charts[0].difficulty == "Beginner"


@pytest.mark.parametrize("case", ["missing", "corrupt", "silent", "too_short", "not_audio", "bad_difficulty"])
def test_bad_input_gives_a_clear_error_not_a_traceback(tmp_path, case):
    path = tmp_path / "x.ogg"
    args = ["make", path]
    if case == "corrupt":
        path.write_bytes(np.random.default_rng(0).bytes(50_000))
    elif case == "silent":
        path = tmp_path / "silent.wav"
        soundfile.write(path, np.zeros(44100 * 20, dtype=np.float32), 44100)
        args = ["make", path]
    elif case == "too_short":
        path = tmp_path / "short.wav"
        soundfile.write(path, np.random.default_rng(0).standard_normal(44100).astype(np.float32) * 0.1, 44100)
        args = ["make", path]
    elif case == "not_audio":
        path = tmp_path / "notes.txt"
        path.write_text("hello", encoding="utf-8")
        args = ["make", path]
    elif case == "bad_difficulty":
        args = ["make", FIXTURE, "--difficulty", "insane"]
    code, out, err = run_cli(*args)
    assert code != 0
    assert err.strip().splitlines()[-1].startswith("error:"), err
    assert "Traceback" not in err
    assert not list(tmp_path.glob("*.sm")) and not list(tmp_path.glob("*.ssc"))
