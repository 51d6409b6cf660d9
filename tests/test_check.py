"""ddc-sm check: each problem type on small hand-made broken songs, plus the clean case, JSON and the CLI."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from ddc_sm.audio.mp3 import mp3_duration
from ddc_sm.commands.check import run_check
from ddc_sm.simfiles.lint import check_paths
from simfile_builders import (clean_sm, clean_ssc, make_song, notes, quarter_measure, simple_notes, sm_chart, sm_text,
                              ssc_text)

PACKS = Path(__file__).resolve().parents[2] / "shared" / "data" / "packs"


def problems_of(*paths):
    problems, n = check_paths(paths)
    return problems


def codes(problems):
    return sorted({p.code for p in problems})


def only(problems, code):
    found = [p for p in problems if p.code == code]
    assert found, f"no {code!r} in {[p.format() for p in problems]}"
    return found


# ---------------------------------------------------------------------------------------------------------


def test_clean_song_passes(tmp_path):
    song = make_song(tmp_path / "pack" / "Clean", sm=clean_sm(), ssc=clean_ssc())
    out = io.StringIO()
    assert run_check([tmp_path / "pack"], out=out) == 0
    assert out.getvalue().strip() == "2 simfiles checked: 0 errors, 0 warnings"
    assert problems_of(song / "song.sm") == []


def test_unparsable_file(tmp_path):
    song = make_song(tmp_path / "S", sm="#TITLE:x;\n#BPMS:0=120;\n#NOTES:dance-single:Hard:\n0000\n;\n")
    [p] = problems_of(song)
    assert (p.code, p.severity, p.file.endswith("song.sm")) == ("parse", "error", True)
    (song / "song.sm").write_bytes(b"\x81\x8d\x8f\x90\x9d#TITLE:x;")
    [p] = problems_of(song)
    assert p.code == "parse" and "decode" in p.message


def test_music_missing_and_fallback(tmp_path):
    song = make_song(tmp_path / "NoAudio", sm=clean_sm(), audio=None)
    [p] = problems_of(song)
    assert (p.code, p.severity) == ("music-missing", "error")
    # #MUSIC names a file that is not there, but another audio file is: StepMania plays that one
    song = make_song(tmp_path / "Renamed", sm=clean_sm(music="old name.ogg"), audio="new name.ogg")
    [p] = problems_of(song)
    assert (p.code, p.severity) == ("music-fallback", "warning") and "new name.ogg" in p.message
    # case-insensitive like StepMania: no problem
    song = make_song(tmp_path / "Case", sm=clean_sm(music="SONG.OGG"))
    assert problems_of(song) == []


def test_unreadable_music(tmp_path):
    song = make_song(tmp_path / "Corrupt", sm=clean_sm(), audio=None)
    (song / "song.ogg").write_bytes(b"this is not audio" * 100)
    [p] = problems_of(song)
    assert (p.code, p.severity) == ("music-unreadable", "error")


def test_notes_after_music_end(tmp_path):
    # 4 measures at 120 BPM end at 7.5 s (last tap on beat 15); 6 s of audio is 1.5 s short -> error
    song = make_song(tmp_path / "Short", sm=clean_sm(), seconds=6.0)
    found = only(problems_of(song), "notes-after-music")
    assert {p.chart for p in found} == {"dance-single Easy", "dance-single Hard"}
    assert all(p.severity == "error" and p.measure == 3 and p.beat == 15 for p in found)
    # 0.3 s short: a warning (the last step lands in silence)
    song = make_song(tmp_path / "Shortish", sm=clean_sm(), seconds=7.2)
    assert {p.severity for p in only(problems_of(song), "notes-after-music")} == {"warning"}
    # an #OFFSET moving the notes later counts too
    song = make_song(tmp_path / "Offset", sm=clean_sm(offset="-3.000"), seconds=9.0)  # beat 0 at 3 s
    assert {p.severity for p in only(problems_of(song), "notes-after-music")} == {"error"}


def test_bpm_problems(tmp_path):
    song = make_song(tmp_path / "Late", sm=clean_sm(bpms="4.000=120.000"))
    [p] = problems_of(song)
    assert (p.code, p.severity, p.beat, p.measure) == ("bpm-first-beat", "error", 4, 1)
    song = make_song(tmp_path / "Zero", sm=clean_sm(bpms="0.000=120.000,8.000=0.000"))
    [p] = problems_of(song)
    assert (p.code, p.severity, p.beat) == ("bpm-zero", "error", 8)
    song = make_song(tmp_path / "Negative", sm=clean_sm(bpms="0.000=120.000,8.000=-120.000,9.000=120.000"))
    assert [(p.code, p.severity) for p in problems_of(song)] == [("bpm-negative", "warning")]
    song = make_song(tmp_path / "Malformed", sm=clean_sm(bpms="0.000=120.000,8.000"))
    [p] = problems_of(song)
    assert (p.code, p.severity) == ("bpm-malformed", "error") and "'8.000'" in p.message
    song = make_song(tmp_path / "Empty", sm=clean_sm(bpms=""))
    [p] = problems_of(song)
    assert (p.code, p.severity) == ("bpm-missing", "error")


def test_hold_problems(tmp_path):
    measures = [
        ["2000", "0000", "0000", "3000"],  # fine
        ["0200", "0000", "0100", "0300"],  # a tap inside the hold in column 2
        ["0030", "0000", "0000", "0000"],  # a tail without a head in column 3
        ["0004", "0000", "0000", "0000"],  # a roll never closed
    ]
    song = make_song(tmp_path / "Holds", sm=sm_text([sm_chart(notes(*measures))]))
    problems = problems_of(song)
    assert codes(problems) == ["hold-unclosed", "note-inside-hold", "tail-without-head"]
    inside = only(problems, "note-inside-hold")[0]
    assert (inside.chart, inside.measure, inside.beat) == ("dance-single Hard", 1, 4)
    assert "column 2" in inside.message and "beat 6" in inside.message
    tail = only(problems, "tail-without-head")[0]
    assert (tail.measure, tail.beat) == (2, 8) and "column 3" in tail.message
    unclosed = only(problems, "hold-unclosed")[0]
    assert (unclosed.measure, unclosed.beat) == (3, 12) and "roll" in unclosed.message and "column 4" in unclosed.message
    assert all(p.severity == "error" for p in problems)
    # a head followed by another head in the same column
    song = make_song(tmp_path / "TwoHeads", sm=sm_text([sm_chart(notes(["2000", "0000", "2000", "3000"]))]))
    [p] = problems_of(song)
    assert (p.code, p.beat) == ("hold-unclosed", 0) and "beat 2" in p.message


def test_rows_per_measure_and_width(tmp_path):
    off_grid = ["1000"] + ["0000"] * 4 + ["0100"] + ["0000"] * 14  # 20 rows, row 5 is at 192*5/20 = 48 (on grid)
    off_grid[3] = "0010"  # row 3 -> 28.8: off StepMania's 192nd grid
    on_grid = ["1000"] + ["0000"] * 19  # 20 rows but every note lands on the grid
    measures = [quarter_measure(), off_grid, on_grid, ["1000", "0000"], quarter_measure("10000")]
    song = make_song(tmp_path / "Rows", sm=sm_text([sm_chart(notes(*measures))]))
    problems = problems_of(song)
    rows = only(problems, "rows-per-measure")
    # the off-grid measure is an error, the others (20 rows on grid, 2 rows) warnings, reported once per chart
    assert [(p.severity, p.measure) for p in rows] == [("error", 1), ("warning", 2)]
    assert rows[1].message.endswith("(and 1 more like it in this chart)")
    assert "20 rows" in rows[0].message and rows[0].beat == Fraction(4) + Fraction(4 * 3, 20)
    width = only(problems, "row-width")
    assert [(p.severity, p.measure, p.beat) for p in width] == [("error", 4, 16)]
    assert "5 columns" in width[0].message and "needs 4" in width[0].message
    # warnings alone: 2-row measure
    song = make_song(tmp_path / "TwoRows", sm=sm_text([sm_chart(notes(["1000", "0100"], quarter_measure()))]))
    [p] = problems_of(song)
    assert (p.code, p.severity, p.measure) == ("rows-per-measure", "warning", 0)


def test_steps_types(tmp_path):
    charts = [sm_chart(notes(quarter_measure("10000001", 8)), stepstype="dance-double"),
              sm_chart(notes(quarter_measure("10000", 5)), stepstype="pump-single"),
              sm_chart(notes(quarter_measure("1000", 4)), stepstype="dance-double", difficulty="Easy"),
              sm_chart(notes(quarter_measure("100", 3)), stepstype="dance-quintuple")]
    song = make_song(tmp_path / "Types", sm=sm_text(charts))
    problems = problems_of(song)
    assert [(p.code, p.chart) for p in problems] == [("row-width", "dance-double Easy"),
                                                     ("steps-type", "dance-quintuple Hard")]
    assert problems[0].severity == "error" and problems[1].severity == "warning"


def test_difficulty_meter_duplicates(tmp_path):
    n = simple_notes()
    charts = [sm_chart(n, difficulty="Hard", meter="7"),
              sm_chart(n, difficulty="Hard", meter="8"),  # duplicate
              sm_chart(n, difficulty="Insane", meter="9"),  # unknown name
              sm_chart(n, difficulty="Expert", meter="10"),  # old name for Challenge
              sm_chart(n, difficulty="Easy", meter="x"),  # meter not an integer
              sm_chart(n, difficulty="Beginner", meter="0"),  # meter below 1
              sm_chart(n, difficulty="Edit", meter="5", description="one"),
              sm_chart(n, difficulty="Edit", meter="5", description="two")]  # Edit may repeat
    song = make_song(tmp_path / "Diffs", sm=sm_text(charts))
    got = sorted((p.code, p.severity, p.chart) for p in problems_of(song))
    assert got == [("difficulty", "error", "dance-single Insane"),
                   ("difficulty-old-name", "warning", "dance-single Expert"),
                   ("duplicate-chart", "error", "dance-single Hard"),
                   ("meter", "error", "dance-single Beginner"),
                   ("meter", "error", "dance-single Easy")]


def test_sample_start(tmp_path):
    song = make_song(tmp_path / "Late", sm=clean_sm(samplestart="12.500"))
    [p] = problems_of(song)
    assert (p.code, p.severity) == ("sample-start", "warning") and "after the music ends" in p.message
    song = make_song(tmp_path / "Negative", sm=clean_sm(samplestart="-3"))
    [p] = problems_of(song)
    assert (p.code, p.severity) == ("sample-start", "warning")
    # SAMPLELENGTH 0 means StepMania's default preview length: not a problem
    song = make_song(tmp_path / "ZeroLength", sm=clean_sm(samplelength="0.000"))
    assert problems_of(song) == []


def test_empty_chart_and_empty_file(tmp_path):
    song = make_song(tmp_path / "Empty", sm=sm_text([sm_chart(notes(["0000"] * 4))]))
    [p] = problems_of(song)
    assert (p.code, p.severity, p.chart) == ("empty-chart", "warning", "dance-single Hard")


def test_sm_ssc_disagreement(tmp_path):
    # the same song: no problem, and .ssc per-chart timing equal to the .sm's is fine
    ssc_charts = [sm_chart(simple_notes(), difficulty="Easy", meter=2),
                  dict(sm_chart(simple_notes(), difficulty="Hard", meter=6),
                       timing={"BPMS": "0.000=120.000", "OFFSET": "0.000"})]
    song = make_song(tmp_path / "Agree", sm=clean_sm(), ssc=ssc_text(ssc_charts))
    assert problems_of(song) == []

    # notes differ in Hard, Easy only in .sm, Medium only in .ssc, offsets differ for all
    changed = notes(["1000", "0100", "0010", "0001"], ["2000", "0100", "3010", "0001"],
                    ["0010", "0001", "1000", "1100"], ["0001", "1000", "0100", "0010"])  # measure 2, beat 11
    sm = sm_text([sm_chart(simple_notes(), difficulty="Easy"), sm_chart(simple_notes(), difficulty="Hard")])
    ssc = ssc_text([sm_chart(changed, difficulty="Hard"), sm_chart(simple_notes(), difficulty="Medium")])
    song = make_song(tmp_path / "Disagree", sm=sm, ssc=ssc)
    problems = problems_of(song)
    assert all(p.code == "sm-ssc-mismatch" and p.severity == "error" and p.file.endswith("song.sm") for p in problems)
    by_chart = {p.chart: p for p in problems}
    assert sorted(by_chart) == ["dance-single Easy", "dance-single Hard", "dance-single Medium"]
    assert len(problems) == 3  # once per chart
    hard = by_chart["dance-single Hard"]
    assert hard.message.startswith("notes differ") and (hard.measure, hard.beat) == (2, 11)
    assert "only in song.sm" in by_chart["dance-single Easy"].message
    assert "only in song.ssc" in by_chart["dance-single Medium"].message

    # timing: an .ssc chart with its own, different BPMs; song offsets differ
    ssc_charts = [sm_chart(simple_notes(), difficulty="Easy", meter=2),
                  dict(sm_chart(simple_notes(), difficulty="Hard", meter=6), timing={"BPMS": "0.000=140.000"})]
    song = make_song(tmp_path / "Timing", sm=clean_sm(), ssc=ssc_text(ssc_charts, offset="0.050"))
    problems = problems_of(song)
    assert [(p.chart, p.code) for p in problems] == [("dance-single Easy", "sm-ssc-mismatch"),
                                                     ("dance-single Hard", "sm-ssc-mismatch")]
    assert "#OFFSET" in problems[0].message and "BPMs" not in problems[0].message
    assert "BPMs" in problems[1].message

    # naming only the .sm still compares it with its .ssc (a pre-commit hook passes changed files only)
    assert len(problems_of(song / "song.sm")) == 2


def test_ssc_chart_timing_is_used(tmp_path):
    charts = [sm_chart(simple_notes(), difficulty="Easy"),
              dict(sm_chart(simple_notes(), difficulty="Hard"), timing={"BPMS": "0.000=60.000"}),  # ends at 15 s
              dict(sm_chart(simple_notes(), difficulty="Medium"), timing={"SCROLLS": "0.000=1.000"})]  # no BPMS
    song = make_song(tmp_path / "S", ssc=ssc_text(charts))
    [p] = problems_of(song)
    assert (p.code, p.severity, p.chart) == ("notes-after-music", "error", "dance-single Hard")


def test_routine_chart_players(tmp_path):
    player = notes(["20000000", "00000000", "30000000", "00000001"])
    song = make_song(tmp_path / "Routine", sm=sm_text([sm_chart(player + "&\n" + player, stepstype="dance-routine")]))
    assert problems_of(song) == []
    broken = notes(["20000000", "00000000", "00000000", "00000001"])
    song = make_song(tmp_path / "Broken", sm=sm_text([sm_chart(player + "&\n" + broken, stepstype="dance-routine")]))
    [p] = problems_of(song)
    assert (p.code, p.beat) == ("hold-unclosed", 0)


def test_two_sm_files_in_one_folder(tmp_path):
    song = make_song(tmp_path / "Two", sm=clean_sm())
    (song / "other.sm").write_text(clean_sm(), encoding="utf-8")
    problems = problems_of(song)
    [p] = problems
    assert (p.code, p.severity) == ("duplicate-simfile", "error") and "other.sm" in p.message


def test_json_output(tmp_path):
    make_song(tmp_path / "P" / "A", sm=clean_sm())
    make_song(tmp_path / "P" / "B", sm=clean_sm(bpms="4.000=120.000"))
    out = io.StringIO()
    assert run_check([tmp_path / "P"], as_json=True, out=out) == 1
    data = json.loads(out.getvalue())
    assert data["summary"] == {"files": 2, "errors": 1, "warnings": 0, "files_with_errors": 1}
    [p] = data["problems"]
    assert set(p) == {"file", "chart", "measure", "beat", "location", "severity", "code", "message"}
    assert (p["severity"], p["code"], p["measure"], p["beat"], p["location"]) == ("error", "bpm-first-beat", 1, 4.0,
                                                                                 "measure 1, beat 4")
    assert p["file"].endswith(os.path.join("B", "song.sm"))


def test_text_output_line(tmp_path, monkeypatch):
    make_song(tmp_path / "S", sm=sm_text([sm_chart(notes(["0030", "0000", "0000", "0000"], quarter_measure()))]))
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert run_check([Path("S")], out=out) == 1
    first = out.getvalue().splitlines()[0]
    assert first == (f"{os.path.join('S', 'song.sm')}: dance-single Hard: measure 0, beat 0: error: "
                     "hold/roll tail in column 3 without a head [tail-without-head]")


def test_warnings_only_exit_zero(tmp_path):
    make_song(tmp_path / "W", sm=clean_sm(samplestart="99"))
    assert run_check([tmp_path / "W"], out=io.StringIO()) == 0


def test_cli(tmp_path):
    from typer.testing import CliRunner

    from ddc_sm.commands.cli import app

    make_song(tmp_path / "Good", sm=clean_sm())
    make_song(tmp_path / "Bad", sm=clean_sm(bpms="0.000=0.000"))
    runner = CliRunner()
    assert runner.invoke(app, ["check", str(tmp_path / "Good")]).exit_code == 0
    result = runner.invoke(app, ["check", str(tmp_path / "Bad"), "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["summary"]["errors"] == 1


def test_cli_bad_path_is_a_user_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ddc_sm", "check", str(tmp_path / "missing")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "no such file or folder" in proc.stderr


def test_check_does_not_import_torch(tmp_path):
    make_song(tmp_path / "S", sm=clean_sm())
    code = ("import sys; from ddc_sm.commands.check import run_check; import io; run_check([sys.argv[1]], out=io.StringIO()); "
            "bad = [m for m in ('torch', 'librosa') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "S")], check=True)


def test_mp3_duration_counts_frames(tmp_path):
    # a tiny MPEG-1 layer III stream: 10 frames of 128 kbit/s at 44.1 kHz, behind an ID3v2 tag
    header = bytes([0xFF, 0xFB, 0x90, 0x00])  # MPEG1 L3, 128 kbit/s, 44.1 kHz, no padding: 417 bytes
    frame = header + bytes(417 - 4)
    id3 = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + bytes(10)
    path = tmp_path / "x.mp3"
    path.write_bytes(id3 + frame * 10 + b"TAG" + bytes(125))
    assert mp3_duration(path) == pytest.approx(10 * 1152 / 44100)


@pytest.mark.skipif(not PACKS.is_dir(), reason=f"real packs not found at {PACKS}")
def test_real_packs_are_linted_quickly():
    import time

    t0 = time.perf_counter()
    problems, n_files = check_paths([PACKS])
    assert n_files > 100
    assert time.perf_counter() - t0 < 60
    assert not [p for p in problems if p.code == "parse"]
    # findings that were checked by hand to be real (see the issue #4 report)
    found = {(Path(p.file).name, p.chart, p.code) for p in problems}
    assert ("03-soar.sm", "dance-single Challenge", "tail-without-head") in found
    assert ("Help me, ERINNNNNN!!.sm", "dance-single Hard", "notes-after-music") in found
    assert ("Vampire Killer.sm", "dance-single Hard", "sm-ssc-mismatch") in found


REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("pre-commit") is None and shutil.which("pre-commit", path=str(Path(sys.executable).parent)) is None,
                    reason="pre-commit is not installed")
def test_pre_commit_hook_with_try_repo(tmp_path):
    """`pre-commit try-repo` runs the ddc-sm-check-system hook of this repo on a small simfile repo."""
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs this repo as a git checkout and git")
    bindir = Path(sys.executable).parent
    if not (bindir / "ddc-sm").exists():
        pytest.skip("ddc-sm console script not installed beside this Python")
    pre_commit = shutil.which("pre-commit", path=str(bindir)) or shutil.which("pre-commit")
    work = tmp_path / "simfiles"
    make_song(work / "Good", sm=clean_sm())
    make_song(work / "Bad", sm=clean_sm(bpms="4.000=120.000"))
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
               PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q"], cwd=work, check=True, env=env)
    subprocess.run(["git", "add", "."], cwd=work, check=True, env=env)

    def try_repo(*files):
        return subprocess.run([pre_commit, "try-repo", str(REPO), "ddc-sm-check-system", "--files", *files],
                              cwd=work, env=env, capture_output=True, text=True, timeout=120)

    good = try_repo("Good/song.sm", "Good/song.ogg")
    if "InvalidManifestError" in good.stdout + good.stderr:
        pytest.skip(".pre-commit-hooks.yaml is not committed in this checkout")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout
    bad = try_repo("Bad/song.sm", "Good/song.sm")
    assert bad.returncode == 1
    assert "Bad/song.sm: measure 1, beat 4: error: the first BPM is at beat 4, not beat 0 [bpm-first-beat]" in bad.stdout
    assert "2 simfiles checked: 1 error, 0 warnings" in bad.stdout
