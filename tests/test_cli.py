"""The command line as a newcomer meets it: help, exit codes, flags, early input checks, make/pack options."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from simfile_builders import fake_make_charts, write_audio

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "synth_128bpm.ogg"
TYPER = version("typer")
PINNED_TYPER = TYPER.startswith("0.26.")  # pyproject: typer>=0.26,<0.27


def cli(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "ddc_sm", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**__import__("os").environ, "COLUMNS": "120"})
    return proc.returncode, proc.stdout, proc.stderr


def test_bare_command_prints_help_and_succeeds():
    code, out, err = cli()
    assert code == 0, err
    assert "Usage:" in out and "make" in out and "check" in out


def test_bare_train_prints_help_and_names_jumps():
    code, out, _ = cli("train")
    assert code == 0
    assert "jumps" in out and "calibrate" in out.lower()


def test_version_short_and_long():
    from ddc_sm import __version__

    for flag in ("-V", "--version"):
        code, out, _ = cli(flag)
        assert code == 0 and out.strip() == f"ddc-sm {__version__}"


def test_shell_completion_is_on():
    code, out, _ = cli("--help")
    assert "--install-completion" in out and "--show-completion" in out


@pytest.mark.skipif(not PINNED_TYPER, reason=f"typer {TYPER} installed; pyproject pins typer>=0.26,<0.27, whose "
                                             "help this test reads (pip install -e . to get it)")
def test_make_help_reads_like_a_conventional_cli():
    code, out, _ = cli("make", "--help")
    assert code == 0
    assert "Usage: python -m ddc_sm make [OPTIONS] SONG..." in out
    assert "<" not in out and "{" not in out  # no "<bool>", "<list[Path]>", "{audio}..."
    force = next(line for line in out.splitlines() if "--force" in line)
    assert force.split("--force", 1)[1].split()[:2] == ["-f", "Overwrite"]  # a flag: no value shown
    assert "PATH" in out and "--bpm                 BPM" in out


def test_every_command_help_has_no_value_on_flags():
    """Whatever the typer version, our own flags never show a value (metavar is set)."""
    for command in (["make"], ["pack"], ["check"], ["sync"], ["eval"]):
        code, out, _ = cli(*command, "--help")
        assert code == 0
        for flag in ("--force", "--add", "--quiet", "--json", "--strict", "--match-sync", "--no-generate"):
            for line in out.splitlines():
                if f" {flag} " in line:
                    assert "<bool>" not in line, line


@pytest.fixture()
def song(copy_fixture_song):
    return copy_fixture_song('Song/song.ogg')


def test_flag_given_a_value_fails_before_any_song_is_charted(song):
    code, out, err = cli("make", song, "--force", "true", "-d", "beginner")
    assert code == 2
    assert "audio file not found: true" in err and "take no value" in err and "Traceback" not in err
    assert not song.with_suffix(".sm").exists() and not song.with_suffix(".ssc").exists()


def test_every_audio_path_is_checked_before_the_first_song(song, tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    code, _, err = cli("make", song, tmp_path / "missing.ogg", tmp_path / "notes.txt", tmp_path, "-d", "beginner")
    assert code == 2
    assert "missing.ogg" in err and "notes.txt is not an audio file" in err and "is a folder" in err
    assert "nothing written" in err
    assert not song.with_suffix(".sm").exists()


def test_missing_weights_fail_before_the_first_song(song, tmp_path):
    code, _, err = cli("make", song, "--weights", tmp_path / "nowhere", "-d", "beginner")
    assert code == 2 and "no placement model" in err
    assert not song.with_suffix(".sm").exists()


def test_title_options_need_one_song(song, tmp_path):
    other = tmp_path / "other.ogg"
    shutil.copy(FIXTURE, other)
    code, _, err = cli("make", song, other, "--title", "X")
    assert code == 2 and "one audio file" in err
    assert not song.with_suffix(".sm").exists()


@pytest.mark.parametrize("value", ["12th", "128", "sixteenth", "0"])
def test_finest_is_validated(song, value):
    code, _, err = cli("make", song, "--finest", value)
    assert code == 2 and "--finest" in err and "no triplets" in err
    assert not song.with_suffix(".sm").exists()


def test_pack_has_makes_options():
    code, out, _ = cli("pack", "--help")
    assert code == 0
    for option in ("--seed", "--beam", "--formats", "--quiet", "--finest", "--difficulty", "--add", "--weights"):
        assert option in out, option


def test_pack_says_why_bpm_and_offset_do_not_apply(tmp_path):
    write_audio(tmp_path / "P" / "S" / "a.ogg", 8)
    code, _, err = cli("pack", tmp_path / "P", "--bpm", "120")
    assert code == 2 and "ddc-sm make SONG --bpm" in err
    assert not (tmp_path / "P" / "S" / "a.sm").exists()


def recording_maker(calls):
    def maker(audio_path, difficulties, **kw):
        calls.append(kw)
        return fake_make_charts(audio_path, difficulties, **kw)

    return maker


def test_pack_passes_seed_beam_formats_and_finest_on(tmp_path):
    from ddc_sm.pipeline.pack import run_pack

    write_audio(tmp_path / "P" / "S" / "a.ogg", 8)
    calls, out = [], io.StringIO()
    code = run_pack(tmp_path / "P", ["Easy"], maker=recording_maker(calls), out=out, formats=("sm",),
                    beam_size=3, seed=7, finest=8, quiet=True)
    assert code == 0
    assert len(calls) == 1
    assert calls[0]["beam_size"] == 3 and calls[0]["seed"] == 7 and calls[0]["finest"] == 8
    assert tuple(calls[0]["formats"]) == ("sm",)
    assert (tmp_path / "P" / "S" / "a.sm").exists() and not (tmp_path / "P" / "S" / "a.ssc").exists()
    assert out.getvalue() == ""  # --quiet: no list of written files


def test_pack_cli_formats_and_quiet(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import ddc_sm.pipeline.make
    from ddc_sm.commands.cli import app

    monkeypatch.setattr(ddc_sm.pipeline.make, "make_charts", fake_make_charts)
    write_audio(tmp_path / "P" / "S" / "a.ogg", 8)
    result = CliRunner().invoke(app, ["pack", str(tmp_path / "P"), "-d", "easy", "--formats", "ssc", "--quiet",
                                      "--seed", "3", "--beam", "4"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert (tmp_path / "P" / "S" / "a.ssc").exists() and not (tmp_path / "P" / "S" / "a.sm").exists()
