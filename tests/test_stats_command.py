"""`ddc-sm stats CHART...`: tables and JSON of hand-built simfiles whose tech, streams and radar are known."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ddc_sm.commands.cli import app, main
from tests.simfile_builders import make_song, notes, sm_chart, sm_text, ssc_text

L, D, U, R, E = "1000", "0100", "0010", "0001", "0000"

# 120 BPM, offset 0: a beat is 0.5 s, a measure 2 s.
# measure 0: L U R on 8ths (alternating feet: one crossover); measure 1: 16 16ths of L R (a stream measure);
# measure 2: nothing (a rest); measure 3: L R L R on quarters.  23 steps.
HARD = notes([L, U, R, E, E, E, E, E], [L, R] * 8, [E] * 4, [L, R, L, R])
EASY = notes([L, E, R, E], [L, E, R, E], [D, E, U, E], [L, E, R, E])  # 8 steps, quarter notes at most


def song(tmp_path, *, music=True, name="S", fmt="sm"):
    text = (sm_text if fmt == "sm" else ssc_text)([sm_chart(EASY, difficulty="Easy", meter=2),
                                                   sm_chart(HARD, difficulty="Hard", meter=6)])
    folder = make_song(tmp_path / name, audio="song.ogg" if music else None, **{fmt: text})
    return folder / f"song.{fmt}"


def run(*args):
    return CliRunner().invoke(app, ["stats", *map(str, args)])


def stats_json(*args) -> dict:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_the_known_tech_streams_and_radar(tmp_path):
    doc = stats_json(song(tmp_path))
    (report,) = doc["simfiles"]
    assert report["title"] == "Test Song" and report["music_seconds"] == pytest.approx(10.0, abs=0.01)
    easy, hard = report["charts"]
    assert (easy["difficulty"], hard["difficulty"]) == ("Easy", "Hard")
    assert hard["steps"] == 23
    assert hard["tech"] == {"crossovers": 1, "footswitches": 0, "sideswitches": 0, "jacks": 0, "brackets": 0,
                            "doublesteps": 0}
    assert hard["tech_per_100"]["crossovers"] == pytest.approx(100 / 23)
    stream = hard["stream"]
    assert stream["longest_stream"] == 16 and stream["breakdown"] == "1"
    assert (stream["measures"], stream["rest_measures"]) == (4, 1)
    assert stream["nps_peak"] == pytest.approx(8.0)  # 16ths at 120 BPM
    radar = hard["radar"]  # StepMania 5's formulas over the 10 s song
    assert radar["stream"] == pytest.approx(23 / 10 / 7, rel=1e-3)
    assert radar["air"] == 0.0 and radar["freeze"] == 0.0
    assert radar["chaos"] == pytest.approx(8 / 10 * 0.5)  # the stream's 8 steps off the 8th grid (16ths)
    # the most notes in an 8-beat window [b - 8, b]: at the stream's last step (beat 7.75) it holds L U R and
    # the 16 16ths (19; at beat 12 it would hold the 16ths and one quarter)
    last_beat = 15  # the last step (measure 3, beat 3)
    assert radar["voltage"] == pytest.approx(19 / 8 * (last_beat / 10.0) / 10, rel=1e-3)
    assert easy["steps"] == 8 and all(v == 0 for v in easy["tech"].values())
    assert easy["stream"]["longest_stream"] == 0 and easy["stream"]["breakdown"] == "-"


def test_table_shows_every_figure(tmp_path):
    result = run(song(tmp_path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    for label in ("crossovers", "footswitches", "sideswitches", "jacks", "brackets", "doublesteps",
                  "stream breakdown", "longest stream", "rest measures", "NPS peak", "radar stream",
                  "radar voltage", "radar air", "radar freeze", "radar chaos"):
        assert label in out, label
    assert "Hard 6" in out and "Easy 2" in out
    assert "1 (4.3)" in out  # one crossover, 4.3 per 100 steps
    assert "25%" in out  # one rest measure in four
    assert "groove radar over 10.0 s (music)" in out


def test_without_music_the_radar_runs_to_the_last_note(tmp_path):
    (report,) = stats_json(song(tmp_path, music=False))["simfiles"]
    hard = report["charts"][1]
    assert report["music_seconds"] is None
    assert hard["song_seconds_from"] == "last note" and hard["song_seconds"] == pytest.approx(7.5)


def test_a_song_folder_stands_for_the_simfile_stepmania_loads(tmp_path):
    folder = song(tmp_path, fmt="ssc").parent
    (folder / "song.sm").write_text(sm_text([sm_chart(EASY, difficulty="Easy", meter=2)]), encoding="utf-8")
    doc = stats_json(tmp_path)  # a pack folder
    assert [r["simfile"] for r in doc["simfiles"]] == [str(folder / "song.ssc")]
    assert len(doc["simfiles"][0]["charts"]) == 2
    both = stats_json(folder / "song.sm", folder / "song.ssc")  # files are used as given
    assert len(both["simfiles"]) == 2


def error_of(capsys, *args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(["stats", *map(str, args)])
    return exc.value.code, capsys.readouterr().err


def test_missing_path_is_one_error_line(tmp_path, capsys):
    code, err = error_of(capsys, tmp_path / "nothere.sm")
    assert code == 2 and err.strip() == f"error: no such file or folder: {tmp_path / 'nothere.sm'}"


def test_a_broken_simfile_is_an_error_line_not_a_traceback(tmp_path, capsys):
    bad = tmp_path / "Bad" / "bad.sm"
    bad.parent.mkdir()
    bad.write_text("#TITLE:x;\n#BPMS:0=120;\n#NOTES:\n  dance-single:\n  Hard:\n;\n", encoding="utf-8")
    code, err = error_of(capsys, bad)
    assert code == 2 and err.startswith("error: cannot read simfile bad.sm:") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and "--force" not in err
    # with a good one beside it: the good one is shown, the bad one named, exit 1
    code, err = error_of(capsys, bad, song(tmp_path))
    assert code == 1 and "error: cannot read simfile bad.sm" in err


def test_no_dance_single_chart_is_an_error(tmp_path, capsys):
    folder = make_song(tmp_path / "Doubles", audio=None,
                       sm=sm_text([sm_chart(notes(["10000000"] * 4), stepstype="dance-double")]))
    code, err = error_of(capsys, folder)
    assert code == 2 and "no readable dance-single chart" in err


def test_help_lists_stats():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "stats" in result.stdout


def test_stats_does_not_import_torch(tmp_path):
    import subprocess
    import sys

    path = song(tmp_path)
    code = ("import sys, io; from ddc_sm.commands.stats import run_stats; run_stats([sys.argv[1]], out=io.StringIO()); "
            "bad = [m for m in ('torch', 'librosa') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
