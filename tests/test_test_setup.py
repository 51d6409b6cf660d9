"""The test run itself: the feature cache stays out of the user's home folder."""

import os
from pathlib import Path

from ddc_sm.audio.cache import cache_dir


def test_feature_cache_is_a_temporary_folder(feature_cache_in_tmp):
    assert os.environ["DDC_SM_CACHE"] == str(feature_cache_in_tmp)
    assert cache_dir() == feature_cache_in_tmp
    assert Path.home() / ".cache" not in cache_dir().parents
