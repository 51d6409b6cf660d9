"""``ddc-sm pack``: chart every song of a pack that has no chart yet (or add missing difficulties with --add).

A *song folder* is any folder under PACK_DIR (PACK_DIR included, hidden folders skipped) that holds an audio
file.  For each one, in sorted order:

* no chart for its audio → ``make_charts`` writes .sm and .ssc at the asked difficulties;
* a chart already there → left alone, unless ``add``: then only the asked difficulties it lacks are added
  (a song that has them all is not touched and no model is loaded for it);
* a song that fails (corrupt audio, unreadable chart, ...) is reported and the run goes on; the exit code is 1
  when any song failed.

Resuming: a song's .sm and .ssc are written as one unit by the chart writer
(:func:`ddc_sm.simfiles.writer.write_charts`); a run killed during the renames is finished by the next run
(:func:`ddc_sm.simfiles.writer.recover`, under the song folder's lock), so a song either has its charts or has
none.  Nothing in the pack is trusted to mean ``--force``: a ``.ddc-sm-pack.json`` marker that older versions
wrote (or that a pack ships) is ignored.  Only a song's own folder is written: a song whose #MUSIC leaves it
fails.

Every chart written is linted with ``ddc-sm check``; a new error there makes the song count as failed.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional


from ddc_sm.audio.decode import AUDIO_EXTENSIONS
from ddc_sm.errors import DdcSmError, UserError
from ddc_sm.simfiles.dataset import chart_difficulties
from ddc_sm.simfiles.folders import existing_simfiles, find_song_dirs
from ddc_sm.simfiles.music import song_music
from ddc_sm.simfiles.writer import needs_recovery, recover, song_lock

MARKER = ".ddc-sm-pack.json"
FORMATS = ("sm", "ssc")


@dataclass
class SongJob:
    song_dir: Path
    audio: Path
    mode: str  # "new" | "add"
    difficulties: list[str]
    offset_shift: float = 0.0  # seconds: the pack's sync convention (``--match-sync``), for new charts
    formats: tuple[str, ...] = FORMATS
    options: dict = field(default_factory=dict)  # passed on to make_charts: beam_size, seed, finest, preview


@dataclass
class SongOutcome:
    song_dir: Path
    status: str  # "written" | "skipped" (has a chart) | "done" (has every asked difficulty) | "failed"
    written: list[str] = field(default_factory=list)
    message: str = ""


def plan_song(song_dir: Path, difficulties: list[str], add: bool) -> SongJob | SongOutcome:
    """What to do for one song folder: a job, or an outcome at once (skipped, done, failed)."""

    try:
        audio = song_music(song_dir)
        if audio is None:
            return SongOutcome(song_dir, "skipped", message="no audio")
        if needs_recovery(song_dir):  # an interrupted run's half-written unit: finish it first
            with song_lock(song_dir):
                recover(song_dir)
        existing = existing_simfiles(audio)
        if not existing:
            return SongJob(song_dir, audio, "new", difficulties)
        if not add:
            return SongOutcome(song_dir, "skipped", message=f"has a chart ({', '.join(p.name for p in existing)})")
        if all(set(difficulties) <= chart_difficulties(p) for p in existing):
            return SongOutcome(song_dir, "done", message="has every asked difficulty")
        return SongJob(song_dir, audio, "add", difficulties)
    except DdcSmError as exc:
        return SongOutcome(song_dir, "failed", message=str(exc))
    except Exception as exc:  # keep going past anything one song does
        return SongOutcome(song_dir, "failed", message=f"{type(exc).__name__}: {exc}")


def _lint_errors(paths: list[Path]) -> set[tuple]:
    from ddc_sm.simfiles.lint import ERROR, check_paths

    paths = [p for p in paths if p.exists()]
    if not paths:
        return set()
    problems, _ = check_paths(paths)
    return {(p.file, p.chart, p.code, p.location, p.message) for p in problems if p.severity == ERROR}


def run_song(job: SongJob, maker: Optional[Callable] = None, weights_dir=None) -> SongOutcome:
    """Generate one song's charts (in this process); never raises for a problem of the song."""
    if maker is None:
        from ddc_sm.pipeline.make import make_charts as maker
    add = job.mode == "add"
    try:
        before = _lint_errors(existing_simfiles(job.audio) if add else [])
        result = maker(job.audio, job.difficulties, force=False, add=add, formats=job.formats,
                       weights_dir=weights_dir, log=None, offset_shift=job.offset_shift, **job.options)
    except DdcSmError as exc:
        return SongOutcome(job.song_dir, "failed", message=str(exc))
    except Exception as exc:
        return SongOutcome(job.song_dir, "failed", message=f"{type(exc).__name__}: {exc}")
    written = [Path(p) for p in result.written]
    if not written:
        return SongOutcome(job.song_dir, "done", message="has every asked difficulty")
    try:
        new_errors = sorted(_lint_errors(written) - before, key=str)
    except Exception as exc:  # the check itself failed: report, do not hide the written charts
        new_errors = [("", None, "check", None, f"{type(exc).__name__}: {exc}")]
    names = [str(p) for p in written]
    if new_errors:
        first = new_errors[0]
        where = ": ".join(x for x in (Path(first[0]).name if first[0] else "", first[1], first[3]) if x)
        return SongOutcome(job.song_dir, "failed", names,
                           f"written chart fails check ({len(new_errors)} error(s)); first: {where}: {first[4]}")
    return SongOutcome(job.song_dir, "written", names)


def _init_worker(threads: int, workers: int) -> None:
    from ddc_sm import threads as thread_policy

    thread_policy.configure(threads, workers)  # the pack's per-song budget (ddc_sm.threads), before torch loads


def _run_song_in_worker(job: SongJob, maker, weights_dir) -> SongOutcome:
    return run_song(job, maker, weights_dir)


def _uses_real_generator() -> bool:
    from ddc_sm.pipeline import make as generate

    return getattr(generate.make_charts, "__module__", None) == generate.__name__


def _plan_pack(pack_dir: Path, songs: list[Path], difficulties, add: bool, formats, options: dict,
               match_sync: bool, quiet: bool, err) -> tuple[dict, list[SongJob]]:
    """Each song folder's outcome known at once (skipped, done, failed) and the jobs to run, moved to the
    pack's sync convention with ``match_sync``."""
    outcomes: dict[Path, SongOutcome] = {}
    todo: list[SongJob] = []
    for song in songs:
        planned = plan_song(song, difficulties, add)
        if isinstance(planned, SongOutcome):
            outcomes[song] = planned
        else:
            todo.append(replace(planned, formats=formats, options=dict(options)))
    if match_sync and todo:
        from ddc_sm.timing.sync_convention import MIN_SONGS, measure_sync_bias

        bias = measure_sync_bias([pack_dir])
        if bias is None:
            err.print(f"--match-sync: fewer than {MIN_SONGS} charted constant-tempo songs agree with the estimate; "
                      "new charts keep the estimated offset", markup=False, highlight=False, soft_wrap=True)
        else:
            if not quiet:
                err.print(f"--match-sync: {bias.describe()}; new charts are moved to match", markup=False,
                          highlight=False, soft_wrap=True)
            todo = [replace(job, offset_shift=bias.seconds) for job in todo]
    return outcomes, todo


def _run_in_processes(todo: list[SongJob], jobs: int, maker, weights_dir, finished: Callable[[SongOutcome], None],
                      threads: int = 1) -> None:
    """Run the jobs in ``jobs`` worker processes, calling ``finished`` with each song's outcome; the songs of a
    pool that a crashed worker broke are retried one at a time, so a crash fails only its own song."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    from ddc_sm import threads as thread_policy

    ctx = multiprocessing.get_context("spawn")  # no fork of a process that may hold torch threads
    # the cores shared out: each song in progress forks this many processes for its own work (ddc_sm.forked)
    per_song = (threads, max(1, thread_policy.cores() // jobs))
    with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx, initializer=_init_worker,
                             initargs=per_song) as pool:
        futures = {pool.submit(_run_song_in_worker, job, maker, weights_dir): job for job in todo}
        broken: list[SongJob] = []  # songs of a pool a crashed worker broke: each is retried alone
        try:
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    broken.append(job)
                    continue
                except Exception as exc:
                    outcome = SongOutcome(job.song_dir, "failed", message=f"worker failed: {type(exc).__name__}: {exc}")
                finished(outcome)
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    for job in sorted(broken, key=lambda j: j.song_dir):  # alone, a crash fails only its own song
        again = plan_song(job.song_dir, job.difficulties, job.mode == "add")
        if isinstance(again, SongOutcome):  # its worker finished it before the pool broke
            if again.status in ("skipped", "done"):
                again = SongOutcome(job.song_dir, "written", [str(p) for p in existing_simfiles(job.audio)])
            finished(again)
            continue
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_init_worker,
                                 initargs=per_song) as alone:
            try:
                outcome = alone.submit(_run_song_in_worker, job, maker, weights_dir).result()
            except BrokenProcessPool:
                outcome = SongOutcome(job.song_dir, "failed", message="the worker process crashed "
                                      "(a decoder or encoder fault); the song's folder was left as it was")
            except Exception as exc:
                outcome = SongOutcome(job.song_dir, "failed", message=f"worker failed: {type(exc).__name__}: {exc}")
        finished(outcome)


def run_pack(pack_dir, difficulties: list[str], *, add: bool = False, jobs: int = 1, weights_dir=None,
             maker: Optional[Callable] = None, out=None, match_sync: bool = False, formats=FORMATS,
             beam_size: int = 20, seed: int = 0, finest: int | None = None, quiet: bool = False,
             preview: bool = False, threads: int = 1, candidates: int = 1) -> int:
    """Chart every song folder under ``pack_dir`` (see the module docstring); 1 when any song failed.

    ``maker`` replaces ``ddc_sm.pipeline.make.make_charts`` (tests); with ``jobs`` > 1 it must be importable
    by name from a worker process.  Written files are printed to ``out`` (stdout), progress and failures go
    to stderr.  ``match_sync``: new charts follow the sync convention of the pack's existing charts
    (:mod:`ddc_sm.timing.sync_convention`), when at least a few of them agree with the estimate.
    ``formats``, ``beam_size``, ``seed``, ``finest``, ``candidates``: as for ``make``.  ``quiet``: no progress bar, no list of
    written files and no summary unless a song failed.  ``threads``: each song's thread budget
    (:mod:`ddc_sm.threads`; the worker processes of ``jobs`` > 1 each get it).

    Progress: on a terminal, one bar with the songs done of those to chart, the songs in progress, the elapsed
    time and an estimate of the time left (from the songs done so far); otherwise one plain line per song done
    with the same figures.
    """
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    out = out or sys.stdout
    pack_dir = Path(pack_dir)
    if not pack_dir.is_dir():
        raise UserError(f"pack folder not found: {pack_dir}")
    if not difficulties:
        raise UserError("no difficulty asked")
    formats = tuple(formats)
    if not formats or any(f not in FORMATS for f in formats):
        raise UserError(f"formats must be sm, ssc or both (got {', '.join(formats) or 'none'})")
    options = {"beam_size": beam_size, "seed": seed}
    if candidates > 1:
        options["candidates"] = candidates
    if preview:  # a preview page beside each song's new charts
        options["preview"] = True
    if finest is not None:
        options["finest"] = finest
    jobs = max(1, int(jobs))
    songs = find_song_dirs(pack_dir, AUDIO_EXTENSIONS)
    if not songs:
        raise UserError(f"no song folders (folders with .ogg/.mp3/.wav/.flac audio) under {pack_dir}")

    err = Console(stderr=True)
    outcomes, todo = _plan_pack(pack_dir, songs, difficulties, add, formats, options, match_sync, quiet, err)
    if maker is None and todo and _uses_real_generator():
        from ddc_sm.weights import bundle_path

        for kind in ("placement", "selection"):  # missing weights: fail once, not once per song
            bundle_path(kind, weights_dir)

    def name(song: Path) -> str:
        return str(song.relative_to(pack_dir)) if song != pack_dir else song.name

    plain = not quiet and not err.is_terminal  # a log file or a pipe: one line per song instead of a bar
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("left"), TimeRemainingColumn(), console=err, transient=False,
                        disable=quiet or plain)
    # songs run in the order given, ``jobs`` at a time: the first ``jobs`` not finished are the ones in progress
    pending = [job.song_dir for job in todo]
    running = min(jobs, len(todo)) if jobs > 1 else 1
    started = time.perf_counter()

    def in_progress() -> str:
        now = pending[:running]
        return ("charting " + ", ".join(name(s)[:30] for s in now)) if now else "charting done"

    with progress:
        task = progress.add_task(in_progress(), total=len(todo))

        def finished(outcome: SongOutcome) -> None:
            outcomes[outcome.song_dir] = outcome
            if outcome.song_dir in pending:
                pending.remove(outcome.song_dir)
            if outcome.status == "failed":
                progress.console.print(f"failed: {name(outcome.song_dir)}: {outcome.message}", markup=False,
                                       highlight=False, soft_wrap=True)
            progress.update(task, description=in_progress())
            progress.advance(task)
            if plain:
                done = len(todo) - len(pending)
                spent = time.perf_counter() - started
                left = f", about {_duration(spent / done * len(pending))} left" if pending else ""
                err.print(f"[{done}/{len(todo)}] {outcome.status} {name(outcome.song_dir)} ({_duration(spent)} "
                          f"elapsed{left})", markup=False, highlight=False, soft_wrap=True)

        if jobs == 1 or len(todo) <= 1:
            for job in todo:
                finished(run_song(job, maker, weights_dir))
        else:
            _run_in_processes(todo, jobs, maker, weights_dir, finished, threads=threads)

    return _report([outcomes[s] for s in songs if s in outcomes], name, out, err, quiet)


def _duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _report(ordered: list[SongOutcome], name: Callable[[Path], str], out, err, quiet: bool) -> int:
    """Print the written files (to ``out``) and the summary and failures (to ``err``); 1 when a song failed."""
    for o in ordered if not quiet else []:
        for path in o.written:
            out.write(f"{path}\n")
    out.flush()
    written = sum(o.status == "written" for o in ordered)
    skipped = sum(o.status in ("skipped", "done") for o in ordered)
    failed = [o for o in ordered if o.status == "failed"]
    if quiet and not failed:
        return 0
    err.print(f"{len(ordered)} songs: {written} charted, {skipped} already charted, {len(failed)} failed",
              markup=False, highlight=False, soft_wrap=True)
    for o in failed:
        err.print(f"failed: {name(o.song_dir)}: {o.message}", markup=False, highlight=False, soft_wrap=True)
    return 1 if failed else 0
