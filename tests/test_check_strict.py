"""`ddc-sm check --strict` (warnings fail) and the pre-commit hooks that show or fail on warnings."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ddc_sm.commands.check import run_check
from simfile_builders import clean_sm, make_song

REPO = Path(__file__).resolve().parents[1]
NEGATIVE_BPM = "0.000=120.000,8.000=-120.000,9.000=120.000"  # a warning (StepMania's warp)


def warning_songs(root: Path) -> list[Path]:
    """Songs with warnings only: #MUSIC names a missing file (another plays instead), and a negative BPM."""
    return [make_song(root / "Renamed", sm=clean_sm(music="old name.ogg"), audio="new name.ogg"),
            make_song(root / "Negative", sm=clean_sm(bpms=NEGATIVE_BPM))]


def test_strict_fails_on_warnings(tmp_path):
    songs = warning_songs(tmp_path)
    out = io.StringIO()
    assert run_check(songs, out=out) == 0
    assert "music-fallback" in out.getvalue() and "bpm-negative" in out.getvalue()
    assert run_check(songs, out=io.StringIO(), strict=True) == 1
    clean = make_song(tmp_path / "Clean", sm=clean_sm())
    assert run_check([clean], out=io.StringIO(), strict=True) == 0


def test_strict_on_the_command_line(tmp_path):
    songs = warning_songs(tmp_path)
    plain = subprocess.run([sys.executable, "-m", "ddc_sm", "check", *map(str, songs)], capture_output=True, text=True)
    strict = subprocess.run([sys.executable, "-m", "ddc_sm", "check", "--strict", *map(str, songs)],
                            capture_output=True, text=True)
    assert plain.returncode == 0 and strict.returncode == 1
    assert "2 simfiles checked: 0 errors, 2 warnings" in strict.stdout


def test_hooks_file_defines_strict_and_verbose_hooks():
    text = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    blocks = {b.split("\n", 1)[0].strip(): b for b in text.split("- id: ")[1:]}
    assert set(blocks) == {"ddc-sm-check", "ddc-sm-check-system", "ddc-sm-check-strict", "ddc-sm-check-strict-system"}
    for hook in ("ddc-sm-check-strict", "ddc-sm-check-strict-system"):
        assert "entry: ddc-sm check --strict" in blocks[hook]
    for hook in ("ddc-sm-check", "ddc-sm-check-system"):
        assert "verbose: true" in blocks[hook]
    assert "language: system" in blocks["ddc-sm-check-strict-system"]


def _pre_commit() -> str | None:
    bindir = str(Path(sys.executable).parent)
    return shutil.which("pre-commit", path=bindir) or shutil.which("pre-commit")


@pytest.mark.skipif(_pre_commit() is None or shutil.which("git") is None, reason="needs pre-commit and git")
def test_try_repo_strict_hook_fails_on_warnings_and_plain_hook_shows_them(tmp_path):
    """`pre-commit try-repo` (offline: language system) with this checkout's hooks and this checkout's code."""
    if not (REPO / ".git").exists():
        pytest.skip("needs this repo as a git checkout")
    bindir = tmp_path / "bin"  # a `ddc-sm` that runs the code under test, whatever else is on PATH
    bindir.mkdir()
    shim = bindir / "ddc-sm"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ddc_sm "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    work = tmp_path / "simfiles"
    warning_songs(work)
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q"], cwd=work, check=True, env=env)
    subprocess.run(["git", "add", "."], cwd=work, check=True, env=env)

    def try_repo(hook):
        return subprocess.run([_pre_commit(), "try-repo", str(REPO), hook, "--all-files"], cwd=work, env=env,
                              capture_output=True, text=True, timeout=120)

    plain = try_repo("ddc-sm-check-system")
    if "InvalidManifestError" in plain.stdout + plain.stderr or "not present in repository" in plain.stdout + plain.stderr:
        pytest.skip(".pre-commit-hooks.yaml with these hooks is not committed in this checkout")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "Passed" in plain.stdout and "bpm-negative" in plain.stdout and "music-fallback" in plain.stdout  # verbose
    strict = try_repo("ddc-sm-check-strict-system")
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "Failed" in strict.stdout and "bpm-negative" in strict.stdout
