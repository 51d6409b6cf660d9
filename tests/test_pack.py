"""ddc-sm pack: batch generation over a pack folder (with a fast stand-in for the models), resuming,
--add, failures, --jobs; and the charts the real writer/generator produce pass ddc-sm check."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import pytest

from ddc_sm.commands.check import run_check
from ddc_sm.simfiles.lint import check_paths
from ddc_sm.audio.decode import AUDIO_EXTENSIONS
from ddc_sm.pipeline.pack import MARKER, plan_song, run_pack
from ddc_sm.simfiles.folders import find_song_dirs
from simfile_builders import broken_make_charts, clean_sm, clean_ssc, fake_make_charts, make_song, write_audio

WEIGHTS = Path(__file__).resolve().parents[1] / "ddc_sm" / "weights"


def build_pack(root: Path) -> Path:
    pack = root / "Pack"
    write_audio(pack / "A New Song" / "a.ogg", 8)  # no chart yet
    make_song(pack / "B Charted", sm=clean_sm(), ssc=clean_ssc(), seconds=8)  # human chart: Easy + Hard
    write_audio(pack / "C Broken" / "bad.ogg", 8)  # the stand-in raises AudioError for it
    write_audio(pack / "D Crash" / "crash.ogg", 8)  # ... and RuntimeError for this one
    (pack / "Not a song").mkdir()
    (pack / "Not a song" / "readme.txt").write_text("hi")
    return pack


def run(pack, diffs=("Easy", "Hard"), **kw):
    out = io.StringIO()
    code = run_pack(pack, list(diffs), maker=kw.pop("maker", fake_make_charts), out=out, **kw)
    return code, out.getvalue().splitlines()


def snapshot(folder: Path) -> dict:
    """Every file but the audio (Ogg streams get random serial numbers)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix != ".ogg"}


def test_song_folders_are_folders_with_audio(tmp_path):
    pack = build_pack(tmp_path)
    assert [p.name for p in find_song_dirs(pack, AUDIO_EXTENSIONS)] == ["A New Song", "B Charted", "C Broken", "D Crash"]


def test_pack_charts_new_songs_leaves_charted_ones_and_names_failures(tmp_path, capsys):
    pack = build_pack(tmp_path)
    before_b = snapshot(pack / "B Charted")
    code, written = run(pack)
    assert code == 1
    assert written == [str(pack / "A New Song" / "a.sm"), str(pack / "A New Song" / "a.ssc")]
    assert snapshot(pack / "B Charted") == before_b
    err = capsys.readouterr().err
    assert "failed: C Broken: cannot decode audio file" in err
    assert "failed: D Crash: RuntimeError: unexpected failure" in err
    assert "4 songs: 1 charted, 1 already charted, 2 failed" in err
    assert not list(pack.rglob(MARKER))
    assert run_check([pack / "A New Song"], out=io.StringIO()) == 0

    # a re-run skips what is done and still names the failures
    done = snapshot(pack)
    code, written = run(pack)
    assert (code, written) == (1, [])
    assert snapshot(pack) == done


def test_pack_exit_zero_when_all_good(tmp_path):
    pack = tmp_path / "P"
    write_audio(pack / "S1" / "one.ogg", 8)
    write_audio(pack / "S2" / "two.ogg", 8)
    code, written = run(pack, ["Medium"])
    assert code == 0 and len(written) == 4
    problems, n = check_paths([pack])
    assert n == 4 and problems == []


def test_add_only_adds_missing_difficulties(tmp_path):
    pack = build_pack(tmp_path)
    run(pack, ["Easy"])
    a_before = snapshot(pack / "A New Song")
    code, written = run(pack, ["Easy", "Medium"], add=True)
    assert code == 1  # C and D still fail
    assert written == [str(pack / "A New Song" / "a.sm"), str(pack / "A New Song" / "a.ssc"),
                       str(pack / "B Charted" / "song.sm"), str(pack / "B Charted" / "song.ssc")]
    assert snapshot(pack / "A New Song") != a_before
    for f in ("song.sm", "song.ssc"):
        text = (pack / "B Charted" / f).read_text()
        assert text.count("Medium") == 1 and text.count("Easy") == 1 and text.count("Hard") == 1
    # nothing missing any more: nothing written, no model needed (the stand-in would raise for a call)
    def no_call(*a, **k):
        raise AssertionError("make_charts called for a song that has every difficulty")

    code, written = run(pack, ["Easy", "Medium"], add=True, maker=no_call)
    assert written == []
    assert plan_song(pack / "B Charted", ["Easy", "Medium"], True).status == "done"


def test_resume_after_a_kill_between_the_two_renames(tmp_path):
    """The .sm and .ssc are one unit: a run killed between the two renames is finished by the next run."""
    from ddc_sm.simfiles.writer import COMMIT, write_charts

    pack = tmp_path / "P"
    song = pack / "Song"
    write_audio(song / "die.ogg", 8)
    import ddc_sm.simfiles.writer as writer

    real, calls = writer.os.replace, []

    def dying_replace(src, dst):
        calls.append(dst)
        if str(dst).endswith(".ssc"):
            raise SystemExit("killed")
        return real(src, dst)

    writer.os.replace = dying_replace
    try:
        with pytest.raises(SystemExit):
            write_charts({song / "die.sm": clean_sm(music="die.ogg"), song / "die.ssc": clean_ssc(music="die.ogg")},
                         overwrite=False)
    finally:
        writer.os.replace = real
    assert (song / "die.sm").exists() and not (song / "die.ssc").exists() and (song / COMMIT).exists()
    code, written = run(pack)
    assert code == 0 and written == []  # the pair is finished, not regenerated: the song is charted
    assert sorted(p.name for p in song.iterdir()) == ["die.ogg", "die.sm", "die.ssc"]
    assert run_check([song], out=io.StringIO()) == 0


def test_written_chart_failing_check_counts_as_failed(tmp_path, capsys):
    pack = tmp_path / "P"
    write_audio(pack / "Song" / "x.ogg", 8)
    code, written = run(pack, ["Hard"], maker=broken_make_charts)
    assert code == 1 and written == [str(pack / "Song" / "x.sm")]
    err = capsys.readouterr().err
    assert "written chart fails check" in err and "never closed" in err


def test_jobs_give_the_same_result_in_the_same_order(tmp_path):
    pack1 = build_pack(tmp_path / "one")
    pack2 = build_pack(tmp_path / "two")
    for i in range(3):
        write_audio(pack1 / f"E{i}" / "e.ogg", 8)
        write_audio(pack2 / f"E{i}" / "e.ogg", 8)
    code1, written1 = run(pack1, jobs=1)
    code2, written2 = run(pack2, jobs=2)
    assert code1 == code2 == 1
    assert [Path(w).relative_to(pack1) for w in written1] == [Path(w).relative_to(pack2) for w in written2]
    assert snapshot(pack1) == snapshot(pack2)


def test_cli_pack(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import ddc_sm.pipeline.make
    from ddc_sm.commands.cli import app

    monkeypatch.setattr(ddc_sm.pipeline.make, "make_charts", fake_make_charts)
    pack = build_pack(tmp_path)
    result = CliRunner().invoke(app, ["pack", str(pack), "-d", "easy,hard"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [str(pack / "A New Song" / "a.sm"), str(pack / "A New Song" / "a.ssc")]
    result = CliRunner().invoke(app, ["pack", str(tmp_path / "nope")])
    assert result.exit_code != 0


def test_chart_writer_output_passes_check(tmp_path):
    """What the generator's writer produces (holds, 16th grid, timing, preview) lints clean."""
    from ddc_sm.simfiles.writer import GeneratedChart, SongInfo, new_simfile, write_atomically

    write_audio(tmp_path / "song.ogg", 12, bpm=128)
    bpm, offset = 128.0, -0.25  # beat 0 at 0.25 s
    beats, rows = [], []
    pattern = ["1000", "0100", "2000", "0010", "3000", "0001", "M000", "1001", "0400", "0010", "0300", "1000"]
    for k in range(80):  # 20 beats of 16ths/8ths: well inside 12 s at 128 BPM (beat 20 = 9.6 s)
        beats.append(Fraction(k, 4) if k % 3 else Fraction(k, 4) + Fraction(1, 16))
        rows.append(pattern[k % len(pattern)])
    charts = [GeneratedChart("Hard", 7, beats, rows), GeneratedChart("Easy", 2, beats[::2][:-1],
                                                                     ["1000", "0100"] * 19 + ["0010"])]
    info = SongInfo("T", "A", "song.ogg", bpm, offset, 2.0, 8.0)
    for kind in ("sm", "ssc"):
        write_atomically(tmp_path / f"song.{kind}", str(new_simfile(kind, info, charts)), overwrite=True)
    problems, n = check_paths([tmp_path])
    assert n == 2 and problems == []


@pytest.mark.skipif(not ((WEIGHTS / "placement.pt").exists() and (WEIGHTS / "selection.pt").exists()),
                    reason="shipped weights (ddc_sm/weights/placement.pt, selection.pt) not present")
def test_pack_with_the_real_models_passes_check(tmp_path):
    pack = tmp_path / "P"
    write_audio(pack / "Song" / "beat.ogg", 20, bpm=128)
    out = io.StringIO()
    assert run_pack(pack, ["Easy", "Hard"], out=out) == 0
    assert len(out.getvalue().splitlines()) == 2
    problems, n = check_paths([pack])
    assert n == 2 and [p for p in problems if p.severity == "error"] == []


def test_missing_weights_fail_once_before_any_song(tmp_path):
    from ddc_sm.errors import WeightsError

    pack = tmp_path / "P"
    write_audio(pack / "S" / "x.ogg", 8)
    with pytest.raises(WeightsError, match="no placement model"):
        run_pack(pack, ["Easy"], weights_dir=tmp_path / "no-weights", out=io.StringIO())
    assert not (pack / "S" / MARKER).exists()


def test_failed_add_leaves_no_marker(tmp_path):
    pack = tmp_path / "P"
    song = make_song(pack / "B", sm=clean_sm(), audio="bad.ogg", seconds=8)
    (song / "song.sm").write_text(clean_sm(music="bad.ogg"), encoding="utf-8")
    code, written = run(pack, ["Medium"], add=True)
    assert code == 1 and written == [] and not (song / MARKER).exists()
    assert plan_song(song, ["Medium"], False).status == "skipped"
