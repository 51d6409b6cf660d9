"""Writing generated charts as StepMania .sm and .ssc files with ``simfile``.

Files are written atomically (a temporary file in the same folder, then a rename), so an interrupted run
never leaves a half-written chart behind, and an existing file is replaced only when the caller asked for it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ddc_sm.simfiles.rows import COLUMNS, EMPTY, STEPS_TYPE
from ddc_sm.errors import ChartExistsError
from ddc_sm.simfiles.compat import import_simfile

CREDIT = "ddc_sm"


@dataclass
class GeneratedChart:
    """One generated chart: difficulty, meter and its non-empty rows on grid beats."""

    difficulty: str
    meter: int
    beats: list[Fraction]
    rows: list[str]
    times: list[float] = field(default_factory=list)

    def notes(self):
        """simfile Notes, naturally sorted (by beat, then column)."""
        sf = import_simfile()
        out = []
        for beat, row in zip(self.beats, self.rows):
            for column, char in enumerate(row):
                if char != "0":
                    out.append(sf.notes.Note(beat=sf.timing.Beat(beat), column=column,
                                             note_type=sf.notes.NoteType(char)))
        out.sort()
        return out

    def note_data(self) -> str:
        sf = import_simfile()
        notes = self.notes()
        if not notes:  # simfile writes nothing for no notes; StepMania wants at least one measure
            return "\n".join([EMPTY * COLUMNS] * 4) + "\n"
        return str(sf.notes.NoteData.from_notes(notes, COLUMNS))


@dataclass
class SongInfo:
    title: str
    artist: str
    music: str  # file name relative to the chart
    bpm: float
    offset: float  # #OFFSET = -(time of beat 0)
    sample_start: float
    sample_length: float
    subtitle: str = ""


def _fmt(x: float) -> str:
    return f"{x:.6f}"


def _new_chart(kind: str, chart: GeneratedChart):
    sf = import_simfile()
    c = sf.ssc.SSCChart.blank() if kind == "ssc" else sf.sm.SMChart.blank()
    c.stepstype = STEPS_TYPE
    c.difficulty = chart.difficulty
    c.meter = str(int(chart.meter))
    c.description = CREDIT
    if kind == "ssc":
        c.credit = CREDIT
    c.notes = chart.note_data()
    return c


def new_simfile(kind: str, info: SongInfo, charts: list[GeneratedChart]):
    """A fresh SMSimfile or SSCSimfile (#VERSION:0.83) holding ``charts``."""
    sf = import_simfile()
    sim = sf.ssc.SSCSimfile.blank() if kind == "ssc" else sf.sm.SMSimfile.blank()
    if kind == "ssc":
        sim.version = "0.83"
    sim.title = info.title
    sim.subtitle = info.subtitle
    sim.artist = info.artist
    sim.credit = CREDIT
    sim.music = info.music
    sim.offset = _fmt(info.offset)
    sim.bpms = f"{_fmt(0.0)}={_fmt(info.bpm)}"
    sim.samplestart = _fmt(info.sample_start)
    sim.samplelength = _fmt(info.sample_length)
    for chart in charts:
        sim.charts.append(_new_chart(kind, chart))
    return sim


def add_charts(path: Path, charts: list[GeneratedChart]):
    """The simfile at ``path`` with ``charts`` appended (nothing else changed)."""
    sf = import_simfile()
    sim = sf.open(str(path), strict=False)
    kind = "ssc" if path.suffix.lower() == ".ssc" else "sm"
    for chart in charts:
        sim.charts.append(_new_chart(kind, chart))
    return sim


def write_atomically(path: Path, text: str, *, overwrite: bool) -> None:
    """Write ``text`` to ``path`` via a temporary file and rename; refuse to replace unless ``overwrite``."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ChartExistsError(f"{path} already exists (use --force to overwrite)")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
