"""How many threads the numeric libraries may use: a policy that never thrashes.

torch, OpenBLAS and MKL start one thread per core by default.  Their threads wait for each other at the end of
every operation, so on a machine whose cores are busy with something else, work made of many small operations
(the beam search runs thousands of tiny ones per chart) stalls at every barrier: ``make`` on one song took
212-440 s with the default threads and 22-42 s with one (issue #11).  The policy:

* **per-step work never fans out**: the beam search always runs on one thread (:func:`single`), whatever the
  budget; so does everything between the large operations;
* **large batched work may**: placement's convolutions and LSTM (all difficulties in one batch), and training,
  run on the budget (:func:`batched`);
* **the budget** is ``--threads N`` on ``make``, ``pack`` (per song being generated), ``eval`` and ``train``;
  without it, ``$DDC_SM_THREADS``, else 1 (:func:`default_threads`).  Why 1: on the 2-core machine a second
  thread gave placement one difficulty at a time nothing (1.43 s against 1.47 s on a 3-minute song; all five in
  one batch on two threads: 0.83 s against 1.41 s), decoding the difficulties on two Python threads was slower
  (6.4 s against 5.2 s: the beam search is bound by the Python between its small operations, which holds the
  GIL), and one thread is what never thrashes when the other core is busy (``benchmarks/make_speed.py``
  measures make idle and busy).  Training's default is its config's ``"threads"`` (1 in the shipped configs, so
  that a rerun reproduces the shipped weights).
* **processes, not threads, share one song's work**: with a budget of one thread, ``make`` forks up to
  ``--workers N`` single-threaded processes (:mod:`ddc_sm.forked`; default: one per core, :func:`workers`)
  that run placement's LSTM for some of the difficulties and the beam searches of some of the charts.  A
  process has no barrier to wait at, so a busy core only slows its share; each chart is computed exactly as
  it is alone, so the charts are the same bytes whatever the number of workers.  ``pack --jobs J`` gives each
  song ``cores // J`` of them.

Thread counts change the last bits of oneDNN's and MKL's sums, so the output is the same for the same options
*and* budget: the default budget (1) gives the same charts on a busy machine as on an idle one.  The selection
stage always runs on one thread, so only placement's probabilities can move with ``--threads``.

:func:`configure` sets the budget for the process and pins the libraries' thread pools to it: the environment
variables that OpenMP, OpenBLAS and MKL read when they load, and torch's pool when torch is loaded already.
"""

from __future__ import annotations

import contextlib
import os
import sys

from ddc_sm.errors import UserError

ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
MAX_THREADS = 256
MAX_WORKERS = 8  # a song has five charts to decode; more processes than that have nothing to do
_budget: int | None = None
_workers: int | None = None


def _count(n, option: str, unit: str, high: int) -> int:
    """``n`` as a count of 1..``high`` (``option`` and ``unit`` name it), or :class:`UserError`."""
    try:
        value = int(n)
    except (TypeError, ValueError):
        raise UserError(f"{option} {n!r} is not a number of {unit}") from None
    if not 1 <= value <= high:
        raise UserError(f"{option} {value}: use 1 to {high}")
    return value


def _from_environment(var: str, unit: str, high: int) -> int | None:
    """``$var`` as a count of 1..``high``; None where it is not set."""
    env = os.environ.get(var, "").strip()
    if not env:
        return None
    try:
        return _count(env, var, unit, high)
    except UserError:
        raise UserError(f"${var}={env!r} is not a number of {unit} (1 to {high})") from None


def check_threads(n) -> int:
    """``n`` as a thread count, or :class:`UserError` when it is not one."""
    return _count(n, "--threads", "threads", MAX_THREADS)


def default_threads() -> int:
    """The budget when none is given: ``$DDC_SM_THREADS``, else 1."""
    return _from_environment("DDC_SM_THREADS", "threads", MAX_THREADS) or 1


def check_workers(n) -> int:
    """``n`` as a number of worker processes, or :class:`UserError` when it is not one."""
    return _count(n, "--workers", "processes", MAX_WORKERS)


def cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_workers() -> int:
    """The worker processes of one song when none are asked for: ``$DDC_SM_WORKERS``, else one per core."""
    return _from_environment("DDC_SM_WORKERS", "processes", MAX_WORKERS) or min(cores(), MAX_WORKERS)


def configure(threads: int | None = None, workers: int | None = None) -> int:
    """Set the process's thread budget (``None``: :func:`default_threads`) and pin the thread pools to it; set
    the worker processes of one song (``None``: :func:`default_workers`).

    Call it before the heavy work starts (the commands do, before they import numpy or torch); returns the budget.
    """
    global _budget, _workers
    n = default_threads() if threads is None else check_threads(threads)
    _budget = n
    _workers = default_workers() if workers is None else check_workers(workers)
    for var in ENV_VARS:
        os.environ[var] = str(n)
    if "torch" in sys.modules:
        _set_torch(n)
    if "numpy" in sys.modules:  # a BLAS already loaded does not read the environment again
        with contextlib.suppress(Exception):
            from threadpoolctl import threadpool_limits

            threadpool_limits(n)
    return n


def budget() -> int:
    """The budget :func:`configure` set, else what ``OMP_NUM_THREADS`` says, else 1."""
    if _budget is not None:
        return _budget
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        return 1


def workers() -> int:
    """How many processes may share one song's work (:mod:`ddc_sm.forked`): what :func:`configure` set, else
    :func:`default_workers`; always 1 with a budget of more than one thread (a process whose OpenMP threads have
    started must not fork)."""
    if budget() > 1:
        return 1
    return _workers if _workers is not None else default_workers()


def _set_torch(n: int) -> None:
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


@contextlib.contextmanager
def torch_threads(n: int):
    """torch's intra-op threads set to ``n`` inside the block, restored after it."""
    import torch

    old = torch.get_num_threads()
    if old != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


def single():
    """Per-step work (the beam search): one thread, whatever the budget."""
    return torch_threads(1)


def batched():
    """Large batched tensor work (placement over a whole song): the budget's threads."""
    return torch_threads(budget())
