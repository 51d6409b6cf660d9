"""Shared test setup: one thread per process (ddc_sm/threads.py's default, pinned here before numpy and torch
load, for this process and the subprocesses the tests start); the feature cache goes to a temporary folder,
never to ``~/.cache/ddc_sm``."""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "DDC_SM_THREADS"):
    os.environ[_var] = "1"

from pathlib import Path  # noqa: E402

import pytest


@pytest.fixture(scope="session", autouse=True)
def feature_cache_in_tmp(tmp_path_factory):
    """Point ``$DDC_SM_CACHE`` (see ddc_sm/audio/cache.py) at a session temp folder; subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("ddc_sm_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DDC_SM_CACHE", str(folder))
        yield folder


FIXTURE_SONG = Path(__file__).resolve().parents[1] / "fixtures" / "synth_128bpm.ogg"


@pytest.fixture()
def copy_fixture_song(tmp_path):
    """``copy_fixture_song("Folder/name.ogg")``: the shipped 128 BPM fixture copied to that path under tmp_path."""
    import shutil

    def copy(relative: str):
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURE_SONG, target)
        return target

    return copy
