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
_budget: int | None = None


def check_threads(n) -> int:
    """``n`` as a thread count, or :class:`UserError` when it is not one."""
    try:
        value = int(n)
    except (TypeError, ValueError):
        raise UserError(f"--threads {n!r} is not a number of threads") from None
    if not 1 <= value <= MAX_THREADS:
        raise UserError(f"--threads {value}: use 1 to {MAX_THREADS}")
    return value


def default_threads() -> int:
    """The budget when none is given: ``$DDC_SM_THREADS``, else 1."""
    env = os.environ.get("DDC_SM_THREADS", "").strip()
    if env:
        try:
            return check_threads(env)
        except UserError:
            raise UserError(f"$DDC_SM_THREADS={env!r} is not a number of threads (1 to {MAX_THREADS})") from None
    return 1


def configure(threads: int | None = None) -> int:
    """Set the process's thread budget (``None``: :func:`default_threads`) and pin the thread pools to it.

    Call it before the heavy work starts (the commands do, before they import numpy or torch); returns the budget.
    """
    global _budget
    n = default_threads() if threads is None else check_threads(threads)
    _budget = n
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
