"""``make``'s progress on stderr: one ``rich`` bar across a song's stages on a terminal, plain lines otherwise.

The bar shows the stage (with the steps decoded of the total while selecting), the share of the song's work
done (:func:`ddc_sm.progress.fraction_done`), the elapsed and the remaining time.  Messages print above it.
When stderr is not a terminal (a log file, a pipe, CI) there is no bar: the messages are plain lines.  With
``quiet`` nothing is printed (the command prints the warnings itself).  After the song, one line gives the
time taken by each stage.
"""

from __future__ import annotations

import sys

from ddc_sm.progress import Progress, fraction_done, timing_summary

BAR_UNITS = 1000


class MakeDisplay(Progress):
    def __init__(self, name: str, *, quiet: bool = False, stream=None, terminal: bool | None = None):
        super().__init__()
        self.name = name
        self.quiet = quiet
        self.stream = stream or sys.stderr
        if terminal is None:
            terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar = None
        self._task = None
        self._name_stage = ""
        self._total: int | None = None
        self._shown = -1
        self._completed = 0
        if terminal and not quiet:
            from rich.console import Console
            from rich.progress import BarColumn, Progress as Bar, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                           TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                           console=Console(file=self.stream), transient=True)
            self.bar.start()
            self._task = self.bar.add_task(name, total=BAR_UNITS)

    def log(self, message: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            print(message, file=self.stream, flush=True)

    def stage(self, name: str, total: int | None = None) -> None:
        super().stage(name, total)
        self._name_stage, self._total, self._shown = name, total, -1
        self._draw(0)

    def advance(self, done: int) -> None:
        if self.bar is None or not self._total:
            return
        step = max(1, self._total // 200)  # redraw every half per cent of the stage
        if done - self._shown >= step or done >= self._total:
            self._draw(done)

    def _draw(self, done: int) -> None:
        if self.bar is None:
            return
        self._shown = done
        what = self._name_stage
        if self._total and self._name_stage == "selection":
            what = f"selection {done}/{self._total} steps"
        # never backwards: make waits for its tempo stage (run beside the features) after the models load
        self._completed = max(self._completed, round(BAR_UNITS * fraction_done(self._name_stage, done, self._total)))
        self.bar.update(self._task, description=f"{self.name}: {what}", completed=self._completed)

    def finish(self) -> None:
        super().finish()
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        if self.timings:
            self.log(f"{self.name}: done in {timing_summary(self.timings, self.elapsed())}")

    def abort(self) -> None:
        """Stop drawing (the song failed); no summary."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
