"""`ddc-sm sync SONG`: candidates as a table or JSON, warnings on stderr, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from ddc_sm.audio import synth
from ddc_sm.commands.cli import main
from ddc_sm.commands.sync import run_sync
from ddc_sm.errors import AudioError


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    track = synth.drum_track(128.0, 0.25, 12.0, sample_rate=22050, noise_db=-30.0)
    path = tmp_path_factory.mktemp("sync") / "song.wav"
    soundfile.write(path, track.samples, track.sample_rate)
    return path


def run_main(*args):
    with pytest.raises(SystemExit) as exc:
        main(["sync", *map(str, args)])
    return exc.value.code


def test_table(song, capsys):
    assert run_main(song) == 0
    out, err = capsys.readouterr()
    assert "128.000" in out and "OFFSET" in out and "confidence" in out
    rows = [line for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) == 3
    assert err == ""


def test_json_and_top(song, capsys):
    assert run_main(song, "--json", "--top", "2") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["reliable"] is True and doc["warnings"] == []
    assert len(doc["candidates"]) == 2
    best = doc["candidates"][0]
    assert best["bpm"] == pytest.approx(128.0, abs=0.01)
    period = 60.0 / 128.0
    d = (-best["offset"] - 0.25) % period
    assert min(d, period - d) < 0.005
    assert doc["candidates"][0]["confidence"] >= doc["candidates"][1]["confidence"]


def test_noise_warns_on_stderr(tmp_path, capsys):
    path = tmp_path / "noise.wav"
    soundfile.write(path, synth.noise_track(8.0, sample_rate=22050).samples, 22050)
    assert run_sync(path) == 0
    out, err = capsys.readouterr()
    assert "warning: no steady beat found" in err and "fallback 120 BPM" in err
    assert "unreliable" in out and "120.000" in out


def test_silent_file_is_a_user_error(tmp_path):
    path = tmp_path / "silence.wav"
    soundfile.write(path, np.zeros(22050 * 6, dtype=np.float32), 22050)
    with pytest.raises(AudioError, match="silent"):
        run_sync(path)


def test_missing_file_one_line_error_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ddc_sm", "sync", str(tmp_path / "missing.ogg")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: audio file not found")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_both_octaves_on_the_same_grid(song, capsys):
    """A track with beats every 60/128 s (the first at 0.25 s): sync also lists the grid at 256 BPM (every beat
    of it a beat) and at 64 BPM (every other beat), each with a #OFFSET that keeps beat 0 a downbeat at or before
    the start (0 <= #OFFSET < 4 beats) and on a beat of the track."""
    assert run_main(song, "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    octaves = {round(o["bpm"]): o["offset"] for o in doc["octaves"]}
    assert set(octaves) == {256, 64}
    for bpm, offset in octaves.items():
        beat = 60.0 / bpm
        assert 0 <= offset < 4 * beat
        d = (-offset - 0.25) % (60.0 / 128.0)  # beat 0 on a beat of the track
        assert min(d, 60.0 / 128.0 - d) < 0.005
    assert run_main(song) == 0
    assert "the same grid at 256.000 BPM" in capsys.readouterr().out
