"""Work shared with forked processes (ddc_sm/forked.py) and make's worker processes (ddc_sm/threads.workers)."""

import os
import subprocess
import sys

import pytest

from ddc_sm import forked, threads

pytestmark = pytest.mark.skipif(not forked.available(), reason="worker processes are forked on Linux only")


def test_each_part_runs_in_its_own_process_and_results_come_back_in_order():
    me = os.getpid()
    seen = []

    def work(part, progress):
        for i in range(3):
            progress((part, i))
        return [x * x for x in part], os.getpid()

    parts = [[1, 2], [3], [4, 5, 6]]
    got = forked.run_parts(work, parts, lambda g, m: seen.append((g, m)))
    assert [r for r, _pid in got] == [[1, 4], [9], [16, 25, 36]]
    pids = [pid for _r, pid in got]
    assert pids[0] == me and len(set(pids)) == 3  # the first part here, the others each in a child
    for g, part in enumerate(parts):  # every progress message reached the parent, in order, with its part
        assert [m for h, m in seen if h == g] == [(part, i) for i in range(3)]


@pytest.mark.parametrize("how", ["raises", "dies"])
def test_a_part_whose_child_fails_is_done_here(how):
    me = os.getpid()

    def work(part, _progress):
        if os.getpid() != me:
            if how == "raises":
                raise RuntimeError("boom")
            os._exit(3)
        return part + 1

    assert forked.run_parts(work, [1, 2, 3], None) == [2, 3, 4]


def test_a_child_writes_nothing_to_the_terminal(capfd):
    def work(part, _progress):
        print("child output", part)
        print("child error", part, file=sys.stderr)
        return part

    assert forked.run_parts(work, [0, 1], None) == [0, 1]
    out, err = capfd.readouterr()
    assert "child output 1" not in out and "child error 1" not in err
    assert "child output 0" in out  # the part done here prints as usual


def test_later_gives_the_childs_result_or_the_fallbacks():
    me = os.getpid()
    assert forked.Later(lambda: os.getpid()).result(lambda: -1) not in (me, -1)

    def fails():
        raise ValueError("no tempo")

    assert forked.Later(fails).result(lambda: "here") == "here"
    later = forked.Later(lambda: __import__("time").sleep(30))
    later.kill()  # a child no longer wanted ends at once


def test_split_keeps_order_and_balances():
    assert forked.split([1, 2, 3, 4, 5], 2) == [[1, 2, 3], [4, 5]]
    assert forked.split([1, 2], 5) == [[1], [2]]
    assert forked.split([], 3) == []


def test_workers_default_to_the_cores_and_one_with_a_thread_budget(monkeypatch):
    monkeypatch.delenv("DDC_SM_WORKERS", raising=False)
    monkeypatch.setattr(threads, "_workers", None)
    monkeypatch.setattr(threads, "_budget", 1)
    assert threads.workers() == min(threads.cores(), threads.MAX_WORKERS)
    monkeypatch.setenv("DDC_SM_WORKERS", "3")
    assert threads.workers() == 3
    monkeypatch.setattr(threads, "_budget", 2)  # OpenMP threads started: no fork
    assert threads.workers() == 1


def test_make_writes_the_same_bytes_with_one_worker_or_three(copy_fixture_song):
    """The tempo beside the features, placement's difficulties and the charts' beam searches in other processes
    change no byte of the charts."""
    charts = []
    for n in ("1", "3"):
        song = copy_fixture_song(f"Song{n}/song.ogg")
        proc = subprocess.run([sys.executable, "-m", "ddc_sm", "make", str(song), "-d", "all", "--workers", n, "-q"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        charts.append((song.with_suffix(".sm").read_bytes(), song.with_suffix(".ssc").read_bytes()))
    assert charts[0] == charts[1]
    assert charts[0][1].count(b"#NOTES:") == 5


def test_a_tempo_map_and_its_grid_fit_come_back_from_a_child():
    """make's tempo stage runs in a child: what it returns (a TempoMap, the grid fit) must cross the pipe, or make
    would silently redo the stage itself."""
    import numpy as np

    from ddc_sm.audio import synth
    from ddc_sm.timing.alignment import grid_alignment
    from ddc_sm.timing.grid import TempoMap
    from ddc_sm.timing.tempo import onset_envelope

    sr = 22050
    track = synth.tempo_change_track([(0, 120.0), (16, 150.0)], 0.5, 20.0, sample_rate=sr)
    timing = TempoMap(-0.5, ((0.0, 120.0), (16.0, 150.0)))

    def stage():
        return timing, grid_alignment(onset_envelope(track.samples, sr), timing)

    def not_here():
        raise AssertionError("the child failed")

    got_timing, fit = forked.Later(stage).result(not_here)
    assert got_timing.bpms == timing.bpms
    assert np.allclose(got_timing.time_at(np.arange(40)), timing.time_at(np.arange(40)))
    assert fit == stage()[1]


def test_no_process_to_be_had_means_the_work_is_done_here(monkeypatch):
    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    before = len(os.listdir("/proc/self/fd"))
    assert forked.run_parts(lambda part, _progress: part * 2, [1, 2, 3], None) == [2, 4, 6]
    assert forked.Later(lambda: "child").result(lambda: "here") == "here"
    assert len(os.listdir("/proc/self/fd")) == before  # the pipes of the failed forks are closed
