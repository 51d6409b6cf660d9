"""make's and pack's progress: a bar on a terminal, plain lines otherwise, nothing with -q; stage timings."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from ddc_sm.commands.display import MakeDisplay
from ddc_sm.progress import STAGE_SHARE, STAGES, Progress, fraction_done, timing_summary


def test_stage_shares_cover_the_song():
    assert set(STAGE_SHARE) == set(STAGES)
    assert sum(STAGE_SHARE.values()) == pytest.approx(1.0)
    assert fraction_done("reading") == 0.0
    assert fraction_done("writing", 1, 1) == pytest.approx(1.0)
    # half of the selection's steps decoded: everything before it plus half its share
    before = sum(STAGE_SHARE[s] for s in STAGES[:STAGES.index("selection")])
    assert fraction_done("selection", 50, 100) == pytest.approx(before + STAGE_SHARE["selection"] / 2)


def test_progress_times_each_stage():
    p = Progress()
    p.stage("reading")
    p.stage("selection", total=10)
    p.advance(5)
    p.finish()
    assert set(p.timings) == {"reading", "selection"}
    assert all(t >= 0 for t in p.timings.values())
    with pytest.raises(ValueError):
        p.stage("dancing")
    assert timing_summary({"selection": 4.46, "reading": 0.2}, 5.0) == "5.0 s (reading 0.2, selection 4.5)"


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    d = MakeDisplay("song.ogg", stream=out, terminal=False)
    d.stage("reading")
    d.log("reading song.ogg...")
    d.stage("selection", total=100)
    for i in range(100):
        d.advance(i + 1)
    d.finish()
    lines = out.getvalue().splitlines()
    assert lines[0] == "reading song.ogg..."
    assert lines[1].startswith("song.ogg: done in ") and "reading" in lines[1] and "selection" in lines[1]
    assert len(lines) == 2  # no per-step lines in a log file


def test_quiet_prints_nothing():
    out = io.StringIO()
    d = MakeDisplay("song.ogg", stream=out, terminal=False, quiet=True)
    d.stage("reading")
    d.log("reading song.ogg...")
    d.finish()
    assert out.getvalue() == ""


def test_bar_on_a_terminal_ends_with_the_summary():
    out = io.StringIO()
    d = MakeDisplay("song.ogg", stream=out, terminal=True)
    assert d.bar is not None
    d.stage("selection", total=10)
    d.advance(10)
    d.log("a message")
    d.finish()
    text = out.getvalue()
    assert "a message" in text and "song.ogg: done in" in text
    assert d.bar is None


def test_make_reports_its_stages(copy_fixture_song):
    song = copy_fixture_song("Song/song.ogg")
    proc = subprocess.run([sys.executable, "-m", "ddc_sm", "make", str(song), "-d", "easy"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    summary = [line for line in proc.stderr.splitlines() if line.startswith("song.ogg: done in ")]
    assert len(summary) == 1
    for stage in ("reading", "tempo", "features", "models", "placement", "selection", "writing"):
        assert f"{stage} " in summary[0]
    quiet = subprocess.run([sys.executable, "-m", "ddc_sm", "make", str(song), "-d", "easy", "--force", "-q"],
                           capture_output=True, text=True)
    assert quiet.returncode == 0 and "done in" not in quiet.stderr and quiet.stdout == ""


def test_make_result_has_the_stage_timings(copy_fixture_song):
    from ddc_sm.pipeline.make import make_charts

    song = copy_fixture_song("Song/song.ogg")
    result = make_charts(song, ["Easy"])
    assert set(result.timings) == set(STAGES)


def test_pack_prints_a_line_per_song_when_not_a_terminal(tmp_path, capsys):
    from ddc_sm.pipeline.pack import run_pack
    from simfile_builders import fake_make_charts, write_audio

    pack = tmp_path / "P"
    write_audio(pack / "S1" / "one.ogg", 8)
    write_audio(pack / "S2" / "two.ogg", 8)
    assert run_pack(pack, ["Easy"], maker=fake_make_charts, out=io.StringIO()) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("[1/2] written S1 (") and "left)" in err[0]
    assert err[1].startswith("[2/2] written S2 (") and "elapsed)" in err[1]
