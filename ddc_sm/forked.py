"""A function run in a forked child process, with progress messages and its result sent back over a pipe.

Step selection decodes a song's difficulties in separate processes this way (issue #11): the beam search is bound
by the Python between its small operations, which holds the GIL, so two threads gain nothing, and torch's own
threads wait for each other at every operation (see :mod:`ddc_sm.threads`).  A forked child starts at once
(the loaded model and the encoded steps are already in its memory, shared until written) and runs on one core of
its own; when the other cores are busy, the processes only share them, with no barrier to stall at.

The child writes nothing but its messages: its standard output and error go to ``/dev/null``, Ctrl-C ends it
quietly, and it leaves with :func:`os._exit` (no ``atexit`` handlers, no flushing of the parent's buffers).  A
child that fails or dies makes :meth:`Forked.result` raise :class:`ChildFailed`; the caller may then do the work
itself.  Only on Linux (:func:`available`): elsewhere fork is missing or unsafe with the numeric libraries.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import sys
from typing import Callable

_HEADER = struct.Struct("<Q")


class ChildFailed(RuntimeError):
    """The child raised, or ended without a result."""


def available() -> bool:
    """Whether :class:`Forked` can run here (Linux with ``os.fork``)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


class Forked:
    """``fn(send)`` run in a forked child; ``send(obj)`` passes a progress message to the parent.

    :meth:`poll` returns the progress messages that have arrived (never blocks); :meth:`result` waits for the
    child, returns what ``fn`` returned (it must pickle), and raises :class:`ChildFailed` if there is none;
    :meth:`kill` ends the child.  Use it as a context manager so that the child never outlives the caller.
    """

    def __init__(self, fn: Callable[[Callable[[object], None]], object]):
        self._buf = b""
        self._result: tuple | None = None
        self._eof = False
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no process to be had (limits, memory): the caller does the work itself
            os.close(read_fd)
            os.close(write_fd)
            raise
        if pid == 0:  # the child
            os.close(read_fd)
            _run_child(fn, write_fd)  # never returns
        os.close(write_fd)
        self.pid: int | None = pid
        self._fd = read_fd
        os.set_blocking(read_fd, False)

    # -- the parent's side --
    def _read(self, block: bool) -> None:
        if self._eof:
            return
        if block:  # poll, not select: any descriptor number
            waiting = select.poll()
            waiting.register(self._fd, select.POLLIN | select.POLLHUP | select.POLLERR)
            waiting.poll()
        while True:
            try:
                chunk = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                return
            if not chunk:
                self._eof = True
                return
            self._buf += chunk

    def _messages(self) -> list:
        out = []
        while len(self._buf) >= _HEADER.size:
            (n,) = _HEADER.unpack_from(self._buf)
            if len(self._buf) < _HEADER.size + n:
                break
            kind, value = pickle.loads(self._buf[_HEADER.size:_HEADER.size + n])
            self._buf = self._buf[_HEADER.size + n:]
            if kind == "progress":
                out.append(value)
            else:
                self._result = (kind, value)
        return out

    def poll(self) -> list:
        """The progress messages received since the last call."""
        self._read(block=False)
        return self._messages()

    def wait_progress(self) -> list:
        """Block until a message arrives or the child ends; the progress messages received."""
        self._read(block=True)
        return self._messages()

    @property
    def finished(self) -> bool:
        return self._result is not None or self._eof

    def result(self, on_progress: Callable[[object], None] | None = None):
        """Wait for the child and return its result (``on_progress`` sees each progress message meanwhile)."""
        while not self.finished:
            for message in self.wait_progress():
                if on_progress is not None:
                    on_progress(message)
        for message in self._messages():
            if on_progress is not None:
                on_progress(message)
        self._close()
        if self._result is None:
            raise ChildFailed("the worker process ended without a result")
        kind, value = self._result
        if kind != "result":
            raise ChildFailed(f"the worker process failed: {value}")
        return value

    def kill(self) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._close()

    def _close(self) -> None:
        if self.pid is not None:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "Forked":
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


class Later:
    """``fn()`` started now in a forked child (where :func:`available`); :meth:`result` gives what it returned,
    or what ``fallback()`` returns here when the child failed or none could be started.  :meth:`kill` ends a
    child whose result is no longer wanted."""

    def __init__(self, fn: Callable[[], object]):
        self._child = _start(lambda _send: fn())

    def result(self, fallback: Callable[[], object]):
        child, self._child = self._child, None
        if child is not None:
            try:
                return child.result()
            except ChildFailed:
                pass
        return fallback()

    def kill(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child = None


def run_parts(fn: Callable, parts: list, on_progress: Callable[[int, object], None] | None = None) -> list:
    """``[fn(part, progress) for part in parts]``, the first part in this process and each other one in a forked
    child of its own (where :func:`available`), all at once; a part whose child fails is done here afterwards.

    ``progress(message)`` inside ``fn`` reaches ``on_progress(part_index, message)`` here (a child's as this
    process runs the first part and while it waits).  ``fn``'s results must pickle.
    """
    report = on_progress or (lambda _g, _m: None)
    children: dict[int, Forked] = {}
    try:
        for g in range(1, len(parts)):
            child = _start(lambda send, g=g: fn(parts[g], send))
            if child is not None:
                children[g] = child

        def first(message) -> None:
            report(0, message)
            for g, child in children.items():
                for m in child.poll():
                    report(g, m)

        results = [fn(parts[0], first)] if parts else []
        for g in range(1, len(parts)):
            try:
                results.append(children[g].result(lambda m, g=g: report(g, m)))
            except (KeyError, ChildFailed):  # no child (not available here), or it failed: do it here
                results.append(fn(parts[g], lambda m, g=g: report(g, m)))
    finally:
        for child in children.values():
            child.kill()
    return results


def split(items: list, n: int) -> list[list]:
    """``items`` in at most ``n`` runs of consecutive items, of sizes that differ by at most one (longest first)."""
    n = max(1, min(int(n), len(items)))
    size, extra = divmod(len(items), n)
    out, a = [], 0
    for g in range(n):
        b = a + size + (1 if g < extra else 0)
        out.append(items[a:b])
        a = b
    return [part for part in out if part]


def _start(fn) -> Forked | None:
    """A :class:`Forked` child running ``fn``, or None where none can be started (not :func:`available`, or
    the fork failed)."""
    if not available():
        return None
    try:
        return Forked(fn)
    except OSError:
        return None


def _run_child(fn, write_fd: int) -> None:
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the child without a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        sys.stdout = sys.stderr = open(os.devnull, "w")

        def send(kind: str, value) -> None:
            data = pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(_HEADER.pack(len(data)) + data)
            while view:
                view = view[os.write(write_fd, view):]

        try:
            value = fn(lambda message: send("progress", message))
        except BaseException as exc:  # reported to the parent, which decides
            send("error", f"{type(exc).__name__}: {exc}")
        else:
            send("result", value)
            code = 0
    finally:
        os._exit(code)
