"""What the pipeline reports while it works: messages, the stage it is in, and how far into the stage it is.

The pipeline (``ddc_sm.pipeline.make``) calls a :class:`Progress`; this base class reports nothing, so library
callers pass nothing.  The command layer's display (``ddc_sm.commands.display``) draws it: one ``rich`` bar
on stderr across the stages on a terminal, plain lines otherwise, nothing with ``-q``.

A song's work is split into :data:`STAGES`, each with its share of the whole (:data:`STAGE_SHARE`), so that
one bar can cover them and its remaining time means something; the selection stage also reports the steps
decoded of its total.
"""

from __future__ import annotations

import time

STAGES = ("reading", "tempo", "features", "models", "placement", "selection", "writing")
# Each stage's share of make's wall time on a 3-minute song (5 difficulties, one thread, make's default workers:
# two on the 2-core machine, so the tempo runs beside the features and only its wait is a stage), from the stage
# times `python benchmarks/make_speed.py` printed there on 2026-12-06 (reading 0.2, tempo 0.0, features 1.5,
# models 1.0, placement 1.3, selection 3.8, writing 0.2), rounded ("models": importing torch and loading the
# weights).  Only the bar's pace and its remaining-time estimate use them: they are timings of the audio's
# processing (Numb, make_speed's default song), no human chart is read, and no figure depends on them.
STAGE_SHARE = {"reading": 0.03, "tempo": 0.01, "features": 0.18, "models": 0.12, "placement": 0.16,
               "selection": 0.47, "writing": 0.03}


class Progress:
    """Reports nothing; subclasses draw it.  ``stage`` starts a stage (``total``: its units, e.g. steps to
    decode), ``advance`` says how many units of it are done, ``log`` is a message for the person."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._stage: str | None = None
        self._since = time.perf_counter()
        self._started = self._since

    def log(self, message: str) -> None:
        pass

    def stage(self, name: str, total: int | None = None) -> None:
        if name not in STAGE_SHARE:
            raise ValueError(f"unknown stage {name!r}; expected one of {STAGES}")
        self._close_stage()
        self._stage = name

    def advance(self, done: int) -> None:
        pass

    def finish(self) -> None:
        self._close_stage()

    def elapsed(self) -> float:
        return time.perf_counter() - self._started

    def _close_stage(self) -> None:
        now = time.perf_counter()
        if self._stage is not None:
            self.timings[self._stage] = self.timings.get(self._stage, 0.0) + now - self._since
        self._stage, self._since = None, now


def fraction_done(stage: str, done: float = 0.0, total: float | None = None) -> float:
    """How much of a song's work (0..1) is done at ``done`` of ``total`` units into ``stage``."""
    before = sum(STAGE_SHARE[s] for s in STAGES[:STAGES.index(stage)])
    within = min(1.0, max(0.0, done / total)) if total else 0.0
    return before + STAGE_SHARE[stage] * within


def timing_summary(timings: dict[str, float], total: float) -> str:
    """``8.8 s (reading 0.2, tempo 0.8, ...)``: the stages in order, those that ran."""
    parts = [f"{s} {timings[s]:.1f}" for s in STAGES if s in timings]
    return f"{total:.1f} s ({', '.join(parts)})" if parts else f"{total:.1f} s"
