"""The thread policy (ddc_sm/threads.py): a budget for batched work, one thread for the beam search."""

import os

import pytest

from ddc_sm import threads
from ddc_sm.errors import UserError


@pytest.fixture()
def restore_threads(monkeypatch):
    import torch

    old = torch.get_num_threads()
    for var in threads.ENV_VARS + ("DDC_SM_THREADS", "DDC_SM_WORKERS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(threads, "_budget", None)
    monkeypatch.setattr(threads, "_workers", None)
    yield
    torch.set_num_threads(old)


def test_default_budget_is_one_thread(restore_threads):
    assert threads.default_threads() == 1
    assert threads.configure() == 1
    assert threads.budget() == 1
    assert all(os.environ[v] == "1" for v in threads.ENV_VARS)


def test_environment_and_option_set_the_budget(restore_threads, monkeypatch):
    import torch

    monkeypatch.setenv("DDC_SM_THREADS", "3")
    assert threads.configure() == 3
    assert os.environ["OMP_NUM_THREADS"] == "3" and torch.get_num_threads() == 3
    assert threads.configure(2) == 2  # --threads wins over the environment
    assert threads.budget() == 2 and torch.get_num_threads() == 2


@pytest.mark.parametrize("bad", [0, -1, 257, "many"])
def test_bad_thread_counts_are_user_errors(bad):
    with pytest.raises(UserError):
        threads.check_threads(bad)


def test_bad_environment_is_a_user_error(restore_threads, monkeypatch):
    monkeypatch.setenv("DDC_SM_THREADS", "zero")
    with pytest.raises(UserError, match="DDC_SM_THREADS"):
        threads.default_threads()


def test_single_runs_on_one_thread_and_restores(restore_threads):
    import torch

    threads.configure(2)
    with threads.single():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with threads.batched():
        assert torch.get_num_threads() == 2


def test_beam_search_runs_on_one_thread_whatever_the_budget(restore_threads, monkeypatch):
    """The per-step work never fans out: select_many decodes with torch on one thread."""
    import numpy as np
    import torch

    from ddc_sm.selection import inference

    seen = []
    real = inference.StepSelector.select_many

    def spy(*args, **kwargs):
        import ddc_sm.selection.beam_search as bs

        original = bs.beam_search_many

        def recording(*a, **k):
            seen.append(torch.get_num_threads())
            return original(*a, **k)

        monkeypatch.setattr(bs, "beam_search_many", recording)
        return real(*args, **kwargs)

    threads.configure(2)
    selector = inference.load_selector(None)
    feats = np.zeros((100, 500), dtype=np.float32)
    spy(selector, feats, {"Easy": np.array([0.5, 1.0, 1.5])}, beam_size=2)
    assert seen == [1]
    assert torch.get_num_threads() == 2


def test_cli_rejects_a_bad_thread_count(tmp_path, copy_fixture_song):
    import subprocess
    import sys

    song = copy_fixture_song("Song/song.ogg")
    for command in (["make", str(song)], ["pack", str(tmp_path)]):
        proc = subprocess.run([sys.executable, "-m", "ddc_sm", *command, "--threads", "0"], capture_output=True,
                              text=True)
        assert proc.returncode == 2
        assert proc.stderr.strip() == "error: --threads 0: use 1 to 256"
    assert not list(song.parent.glob("*.s*"))


def test_make_with_two_threads_writes_a_playable_chart(copy_fixture_song):
    """--threads 2 runs placement's LSTM for all difficulties in one batch; the charts are still there."""
    import subprocess
    import sys

    song = copy_fixture_song("Song/song.ogg")
    proc = subprocess.run([sys.executable, "-m", "ddc_sm", "make", str(song), "-d", "easy,hard", "--threads", "2",
                           "-q"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = song.with_suffix(".ssc").read_text()
    assert text.count("#NOTES:") == 2
