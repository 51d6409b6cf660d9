"""Shared test setup: the feature cache goes to a temporary folder, never to ``~/.cache/ddc_sm``."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def feature_cache_in_tmp(tmp_path_factory):
    """Point ``$DDC_SM_CACHE`` (see ddc_sm/audio/cache.py) at a session temp folder; subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("ddc_sm_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DDC_SM_CACHE", str(folder))
        yield folder
