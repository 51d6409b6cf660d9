"""Reading human-made charts from simfile packs: step times, step rows, timing, audio location.

A *pack root* is any folder; every folder beneath it that holds a .sm or .ssc file is a song.  Only
``dance-single`` charts at the five standard difficulties are used.  Rows are normalised to the
characters the model knows: ``0`` empty, ``1`` tap, ``2`` hold head, ``4`` roll head, ``3`` hold/roll
tail, ``M`` mine (lifts become taps, fakes and keysounds become empty).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from ddc_sm.difficulty import DIFFICULTIES
from ddc_sm.difficulty import canonical_difficulty
from ddc_sm.errors import SimfileError
from ddc_sm.simfiles.compat import import_simfile, read_existing_chart
from ddc_sm.simfiles.folders import find_song_dirs
from ddc_sm.simfiles.music import song_music
from ddc_sm.simfiles.rows import COLUMNS, EMPTY, STEPS_TYPE, normalise_row



@dataclass
class ChartData:
    """One human chart: its non-empty rows and the time of each row."""

    difficulty: str
    meter: int
    times: np.ndarray  # float64 seconds, sorted, one per non-empty row
    rows: list[str]  # normalised row strings, same length as times
    beats: list[Fraction]
    source: Path
    description: str = ""


@dataclass
class SongData:
    """A song folder: audio, timing of its simfile and its dance-single charts."""

    song_dir: Path
    simfile_path: Path
    audio_path: Path | None
    title: str
    artist: str
    offset: float
    bpms: list[tuple[Fraction, float]]
    constant_tempo: bool
    charts: list[ChartData] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Stable identifier: '<pack>/<song folder>'."""
        return f"{self.song_dir.parent.name}/{self.song_dir.name}"


def _parse_bpms(value: str) -> list[tuple[Fraction, float]]:
    out = []
    for part in (value or "").split(","):
        if "=" in part:
            beat, bpm = part.split("=", 1)
            try:
                out.append((Fraction(beat.strip()).limit_denominator(10000), float(bpm.strip())))
            except (ValueError, ZeroDivisionError):
                continue
    return out


def _has_entries(value: str | None) -> bool:
    return any("=" in p for p in (value or "").split(","))


def chart_rows(sim, chart) -> tuple[np.ndarray, list[str], list[Fraction]]:
    """Times, normalised rows and beats of a chart's non-empty rows."""
    sf = import_simfile()
    note_data = sf.notes.NoteData(chart)
    timing = sf.timing.TimingData(sim, chart)
    by_beat: dict[Fraction, list[str]] = {}
    times: dict[Fraction, float] = {}
    for timed in sf.notes.timed.time_notes(note_data, timing):
        note = timed.note
        ch = normalise_row(note.note_type.value)
        if ch == EMPTY or note.column >= COLUMNS:
            continue
        row = by_beat.setdefault(note.beat, [EMPTY] * COLUMNS)
        row[note.column] = ch
        times[note.beat] = float(timed.time)
    beats = sorted(by_beat)
    return (np.array([times[b] for b in beats], dtype=np.float64),
            ["".join(by_beat[b]) for b in beats], [Fraction(b) for b in beats])


def load_song(song_dir: str | os.PathLike, *, with_charts: bool = True) -> SongData:
    """Read one song folder.  Raises :class:`SimfileError` when it holds no readable simfile."""
    sf = import_simfile()
    song_dir = Path(song_dir)
    try:
        sdir = sf.dir.SimfileDirectory(str(song_dir))
        path = Path(sdir.simfile_path) if sdir.simfile_path else None
        if path is None:
            raise SimfileError(f"no simfile in {song_dir}")
        sim = sf.open(str(path), strict=False)
    except SimfileError:
        raise
    except Exception as exc:
        raise SimfileError(f"cannot read simfile in {song_dir}: {exc}") from exc
    bpms = _parse_bpms(sim.bpms)
    try:
        offset = float(sim.offset or 0.0)
    except ValueError:
        offset = 0.0
    constant = len(bpms) == 1 and not any(_has_entries(sim.get(k)) for k in ("STOPS", "DELAYS", "WARPS"))
    song = SongData(song_dir=song_dir, simfile_path=path, audio_path=song_music(song_dir, sim.get("MUSIC") or ""),
                    title=sim.title or song_dir.name, artist=sim.artist or "", offset=offset, bpms=bpms,
                    constant_tempo=constant)
    if not with_charts:
        return song
    for chart in sim.charts:
        if (chart.stepstype or "").strip() != STEPS_TYPE:
            continue
        difficulty = canonical_difficulty(chart.difficulty)
        if difficulty not in DIFFICULTIES:  # Edit or unknown
            continue
        # per-chart timing (.ssc) that differs from the song's makes the song's tempo non-constant
        if any(_has_entries(chart.get(k)) for k in ("BPMS", "STOPS", "DELAYS", "WARPS")) and (
                _parse_bpms(chart.get("BPMS")) not in ([], bpms) or any(_has_entries(chart.get(k)) for k in ("STOPS", "DELAYS", "WARPS"))):
            song.constant_tempo = False
        try:
            times, rows, beats = chart_rows(sim, chart)
            meter = int(str(chart.meter).strip() or 1)
        except Exception:
            continue
        if len(rows) == 0:
            continue
        song.charts.append(ChartData(difficulty, meter, times, rows, beats, path, chart.description or ""))
    return song



def chart_difficulties(path: str | os.PathLike) -> set[str]:
    """The standard difficulties of the dance-single charts in a simfile (:class:`SimfileError` when unreadable)."""
    sim = read_existing_chart(path)
    return {canonical_difficulty(c.difficulty or "") for c in sim.charts
            if (c.stepstype or "").strip().lower() == STEPS_TYPE} & set(DIFFICULTIES)


def chart_meters(path: str | os.PathLike) -> dict[str, int]:
    """The meters of the standard-difficulty dance-single charts in a simfile (difficulty -> meter): the first
    chart of each difficulty whose #METER is a whole number from 1 to 99; others (joke or broken meters) are left
    out."""
    sim = read_existing_chart(path)
    out: dict[str, int] = {}
    for c in sim.charts:
        difficulty = canonical_difficulty(c.difficulty or "")
        text = (c.meter or "").strip()
        if ((c.stepstype or "").strip().lower() == STEPS_TYPE and difficulty in DIFFICULTIES and difficulty not in out
                and text.isascii() and text.isdigit() and 1 <= int(text) <= 99):
            out[difficulty] = int(text)
    return out


def iter_songs(roots, *, with_charts: bool = True, skip_errors: bool = True) -> Iterator[SongData]:
    """Every song folder under ``roots`` (see :func:`load_song`); unreadable ones skipped unless not ``skip_errors``."""
    for song_dir in find_song_dirs(roots):
        try:
            yield load_song(song_dir, with_charts=with_charts)
        except SimfileError:
            if not skip_errors:
                raise

