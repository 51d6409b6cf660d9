"""``ddc-sm check``: lint .sm/.ssc simfiles and packs the way StepMania loads them.

Nothing heavy is imported (no torch, no librosa): ``simfile`` parses the files, the note data is read raw
(StepMania's own rules for rows per measure and row width are not visible through ``simfile``'s note
parser), and the music's length comes from ``soundfile``'s header reading, except for mp3 where the frames
are counted (mp3 header lengths can be seconds off for VBR files).

Severities: an **error** is something StepMania gets wrong or refuses (the song or chart does not load,
notes are lost, moved or mistimed, the music is missing or ends before the notes); a **warning** is
something StepMania 5 copes with but that is still likely unintended or not portable (an old difficulty
name, a silent preview, a negative-BPM gimmick, an empty chart).  ``run_check`` exits 1 when there is an
error and 0 otherwise (warnings alone pass).

Locations: ``measure M`` counts from 0 like the ``// measure M`` comments StepMania writes, so
``beat = 4 * M`` at its start; columns count from 1 (left to right).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Optional

from ddc_sm.audio.decode import STEPMANIA_PLAYS, header_duration
from ddc_sm.difficulty import DIFFICULTY_NAMES, OLD_DIFFICULTY_NAMES, canonical_difficulty
from ddc_sm.errors import AudioError
from ddc_sm.simfiles.compat import SIMFILE_EXTENSIONS
from ddc_sm.simfiles.folders import collect_simfiles
from ddc_sm.simfiles.music import resolve_music
from ddc_sm.simfiles.rows import INSIDE_HOLD, TAIL_WITHOUT_HEAD, column_transition

STANDARD_ROWS = (4, 8, 12, 16, 24, 32, 48, 64, 96, 192)
ROWS_PER_MEASURE_GRID = 192  # StepMania stores notes on 48 rows per beat

# columns of each steps type StepMania 5 knows (GameManager's StepsTypeInfo)
STEPS_TYPE_COLUMNS = {
    "dance-single": 4, "dance-double": 8, "dance-couple": 8, "dance-solo": 6, "dance-threepanel": 3,
    "dance-routine": 8,
    "pump-single": 5, "pump-halfdouble": 6, "pump-double": 10, "pump-couple": 10, "pump-routine": 10,
    "kb7-single": 7,
    "ez2-single": 5, "ez2-double": 10, "ez2-real": 7,
    "para-single": 5,
    "ds3ddx-single": 8,
    "beat-single5": 6, "beat-versus5": 6, "beat-double5": 12, "beat-single7": 8, "beat-versus7": 8,
    "beat-double7": 16,
    "maniax-single": 4, "maniax-double": 8,
    "techno-single4": 4, "techno-single5": 5, "techno-single8": 8, "techno-double4": 8, "techno-double5": 10,
    "techno-double8": 16,
    "pnm-five": 5, "pnm-nine": 9,
    "lights-cabinet": 8,
    "kickbox-human": 4, "kickbox-quadarm": 4, "kickbox-insect": 6, "kickbox-arachnid": 8,
}
ROUTINE_STEPS_TYPES = ("dance-routine", "pump-routine")

NOTE_CHARS = set("01234MKLFA")
HEAD_CHARS = {"2": "hold", "4": "roll"}

# a last note up to 50 ms after the music's end is not worth reporting (the generator keeps 50 ms clear);
# up to 1 s after it is a warning (a final step in silence), more is an error (a chart for another cut of the song)
END_TOLERANCE_S = 0.05
END_ERROR_S = 1.0

ERROR, WARNING = "error", "warning"

MAX_BEAT = 10 ** 6  # a beat (or BPM/stop value) beyond this is no timing a song has
MAX_BPM = 10 ** 6
MAX_OFFSET_S = 3600.0
MAX_METER = 10 ** 4
MAX_SIMFILE_BYTES = 20 * 1024 * 1024  # a bigger simfile is reported as such, not parsed
MAX_TIMING_ENTRIES = 250_000  # a #BPMS/#STOPS/... list longer than this is an error, not parsed (time, memory)
ENGINE_MAX_EVENTS = 2000  # more timing entries than this are not given to simfile's (slow) TimingEngine


@dataclass
class Problem:
    """One finding: where it is and what is wrong."""

    file: str
    severity: str  # "error" | "warning"
    code: str  # short stable id, e.g. "hold-unclosed"
    message: str
    chart: Optional[str] = None  # "dance-single Hard"
    measure: Optional[int] = None  # from 0, as StepMania's "// measure N" comments
    beat: Optional[Fraction] = None

    @property
    def location(self) -> str:
        parts = []
        if self.measure is not None:
            parts.append(f"measure {self.measure}")
        if self.beat is not None:
            parts.append(f"beat {format_beat(self.beat)}")
        return ", ".join(parts)

    def format(self) -> str:
        head = [self.file]
        if self.chart:
            head.append(self.chart)
        if self.location:
            head.append(self.location)
        return f"{': '.join(head)}: {self.severity}: {self.message} [{self.code}]"

    def to_dict(self) -> dict:
        return {"file": self.file, "chart": self.chart, "measure": self.measure,
                "beat": None if self.beat is None else _json_float(self.beat), "location": self.location or None,
                "severity": self.severity, "code": self.code, "message": self.message}


def format_beat(beat: Fraction) -> str:
    try:
        value = float(beat)
    except OverflowError:
        return "-huge" if beat < 0 else "huge"
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _json_float(x: Fraction) -> Optional[float]:
    try:
        value = float(x)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _measure_of(beat: Fraction) -> int:
    return int(beat // 4)


# ----------------------------------------------------------------------------------------------------------
# small parsers


_PLAIN_DECIMAL = re.compile(r"([+-]?)(\d{1,30})(?:\.(\d{0,30}))?")


def _parse_beat(text: str) -> Fraction:
    """A beat as StepMania stores it (48 rows per beat, so at most 1/48000 exact here).  Plain decimals with
    up to 3 places (what editors write) take an integer fast path: 200k entries parse in well under a second."""
    m = _PLAIN_DECIMAL.fullmatch(text)
    if m is not None:
        frac = (m.group(3) or "").rstrip("0")
        if len(frac) <= 3:
            sign = -1 if m.group(1) == "-" else 1
            return Fraction(sign * int(m.group(2) + frac), 10 ** len(frac))
    return Fraction(text).limit_denominator(48 * 1000)


def parse_beat_values(text: Optional[str]) -> tuple[list[tuple[Fraction, float]], list[str]]:
    """'0.000=120.000,64.000=240.000' -> [(0, 120.0), (64, 240.0)] and the malformed entries."""
    values, bad = [], []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        pieces = part.split("=")
        try:
            if len(pieces) != 2:
                raise ValueError
            beat_text, value_text = pieces[0].strip(), pieces[1].strip()
            if len(beat_text) > 40 or len(value_text) > 40:
                raise ValueError
            beat = _parse_beat(beat_text)
            value = float(value_text)
            if value != value or value in (float("inf"), float("-inf")) or abs(beat) > MAX_BEAT:
                raise ValueError
        except (ValueError, ZeroDivisionError):
            bad.append(part)
            continue
        values.append((beat, value))
    return values, bad


def float_or_none(text) -> Optional[float]:
    try:
        value = float(str(text).strip())
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float("inf") else None


class RawNote:
    """A note of the raw note data at position ``pos / denom`` measures (exact, integers for speed)."""

    __slots__ = ("pos", "denom", "column", "char", "measure", "player")

    def __init__(self, pos: int, denom: int, column: int, char: str, measure: int, player: int = 0):
        self.pos, self.denom, self.column, self.char, self.measure, self.player = pos, denom, column, char, measure, player

    @property
    def beat(self) -> Fraction:
        return Fraction(4 * self.pos, self.denom)

    @property
    def tick(self):
        """Position in 192nds of a measure (StepMania's grid): an int, or a Fraction when off it."""
        t = self.pos * ROWS_PER_MEASURE_GRID
        return t // self.denom if t % self.denom == 0 else Fraction(t, self.denom)


_BRACKETS = re.compile(r"\[[^\]]*\]|\{[^}]*\}")


def _row_cells(line: str) -> list[str]:
    """The note characters of one row (keysound ``[n]`` and attack ``{...}`` annotations removed)."""
    return list(_BRACKETS.sub("", line))


def split_measures(notes: str) -> list[list[str]]:
    """Raw note data -> measures -> non-empty row strings (comments were removed by the MSD parser)."""
    measures = []
    for chunk in notes.split(","):
        rows = []
        for line in chunk.splitlines():
            line = line.split("//", 1)[0].strip()
            if line:
                rows.append(line)
        measures.append(rows)
    return measures


class MusicInfo:
    """Music lengths, read once per run from the files' headers (:func:`ddc_sm.audio.decode.header_duration`)."""

    def __init__(self):
        self._durations: dict[Path, Optional[float]] = {}
        self.errors: dict[Path, str] = {}

    def duration(self, path: Path) -> Optional[float]:
        if path not in self._durations:
            try:
                self._durations[path] = header_duration(path)
            except AudioError as exc:
                self.errors[path] = str(exc)
                self._durations[path] = None
        return self._durations[path]


# ----------------------------------------------------------------------------------------------------------
# one simfile


@dataclass
class ChartSummary:
    """What the .sm/.ssc comparison needs of one chart."""

    label: str
    notes: Optional[frozenset]  # {(player, beat in 48ths, column, char)}; None when unreadable
    offset: Optional[float]
    bpms: Optional[tuple]
    stops: Optional[tuple]
    comparable_timing: bool


class SimfileChecker:
    """Checks one .sm/.ssc file; ``problems`` collects what it finds."""

    def __init__(self, path: Path, display: str, music: MusicInfo):
        self.path = path
        self.display = display
        self.music = music
        self.problems: list[Problem] = []
        self.charts: dict[tuple, ChartSummary] = {}
        self.sim = None

    def report(self, severity, code, message, chart=None, measure=None, beat=None):
        self.problems.append(Problem(self.display, severity, code, message, chart, measure, beat))

    # -- whole file ---------------------------------------------------------------------------------------
    def run(self) -> "SimfileChecker":
        try:
            size = self.path.stat().st_size
            with open(self.path, "rb") as f:
                head = f.read(4)
        except OSError as exc:
            self.report(ERROR, "parse", f"cannot read the file: {exc.strerror or exc}")
            return self
        if size > MAX_SIMFILE_BYTES:
            self.report(ERROR, "too-large", f"the file is {size / 2 ** 20:.0f} MB; a simfile over "
                        f"{MAX_SIMFILE_BYTES // 2 ** 20} MB is not checked (StepMania would struggle to load it)")
            return self
        if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) == 4 and (head[1::2] == b"\0\0" or head[0::2] == b"\0\0")):
            self.report(ERROR, "encoding", "the file is UTF-16 encoded; StepMania reads simfiles as UTF-8 "
                        "(save it as UTF-8)")
            return self
        sf = _simfile()
        try:
            self.sim = sf.open(str(self.path), strict=False)
        except UnicodeDecodeError:
            self.report(ERROR, "parse", "cannot decode the text (tried UTF-8, CP1252, CP932 and CP949)")
            return self
        except Exception as exc:
            self.report(ERROR, "parse", f"cannot parse the file: {_exc_text(exc)}")
            return self
        sim = self.sim
        song_timing = self._check_timing(sim, None)
        music_path = self._check_music_tag(sim)
        charts = list(sim.charts)
        if not charts:
            self.report(WARNING, "no-charts", "the file has no charts")
        end_times: list[tuple[str, float, Fraction]] = []
        seen: dict[tuple, int] = {}
        for index, chart in enumerate(charts, start=1):
            summary, last = self._check_chart(sim, chart, index, song_timing, seen)
            if last is not None:
                end_times.append(last)
            if summary is not None:
                key = _chart_key(chart, self.path)
                self.charts.setdefault(key, summary)
        self._check_music_length(sim, music_path, end_times)
        return self

    def _check_timing(self, source, chart_label: Optional[str]):
        """BPMS/STOPS/DELAYS/WARPS/OFFSET of the song (or of an .ssc chart with its own timing).

        Returns (offset, bpms, stops, usable, n_delays_and_warps) where usable says whether times can be
        computed."""
        where = "" if chart_label is None else "chart's "
        usable = True
        too_many = set()
        for key in ("BPMS", "STOPS", "DELAYS", "WARPS"):
            n = str(source.get(key) or "").count(",") + 1
            if n > MAX_TIMING_ENTRIES:
                usable = False
                too_many.add(key)
                self.report(ERROR, "timing-too-long", f"{where}#{key} has {n} entries; more than "
                            f"{MAX_TIMING_ENTRIES} are not checked (a song has at most a few thousand)", chart_label)

        def parse(key):
            return ([], []) if key in too_many else parse_beat_values(source.get(key))

        bpms, bad = parse("BPMS")
        if bad:
            usable = False
            self.report(ERROR, "bpm-malformed", f"{where}#BPMS has malformed entries: {', '.join(repr(b) for b in bad[:3])}"
                        + (" ..." if len(bad) > 3 else ""), chart_label)
        if not bpms:
            usable = False
            if not bad and "BPMS" not in too_many:
                self.report(ERROR, "bpm-missing", f"{where}#BPMS is empty (StepMania falls back to 60 BPM)", chart_label)
        else:
            first = min(bpms, key=lambda bv: bv[0])
            if first[0] != 0:
                usable = False
                self.report(ERROR, "bpm-first-beat", f"the first BPM is at beat {format_beat(first[0])}, not beat 0",
                            chart_label, _measure_of(first[0]), first[0])
            for beat, value in bpms:
                if value == 0:
                    usable = False
                    self.report(ERROR, "bpm-zero", "BPM 0 (StepMania ignores it, so the timing after it is wrong)",
                                chart_label, _measure_of(beat), beat)
                elif abs(value) > MAX_BPM:
                    usable = False
                    self.report(ERROR, "bpm-range", f"BPM {value:g} is not a tempo StepMania can play",
                                chart_label, _measure_of(beat), beat)
                elif value < 0 and beat == first[0]:
                    usable = False
                    self.report(ERROR, "bpm-negative", f"the first BPM is negative ({value:g}): StepMania cannot "
                                "start a song backwards", chart_label, _measure_of(beat), beat)
                elif value < 0:
                    self.report(WARNING, "bpm-negative",
                                f"negative BPM {value:g}: a gimmick StepMania 5 turns into a warp; other players mistime it",
                                chart_label, _measure_of(beat), beat)
        stops, extra_events = [], 0
        for key in ("STOPS", "DELAYS", "WARPS"):
            values, bad = parse(key)
            if bad:
                usable = False
                self.report(ERROR, f"{key.lower()}-malformed",
                            f"{where}#{key} has malformed entries: {', '.join(repr(b) for b in bad[:3])}", chart_label)
            if key == "STOPS":
                stops = values
            else:
                extra_events += len(values)
        offset_text = source.get("OFFSET")
        offset = 0.0
        if offset_text is not None and str(offset_text).strip():
            offset = float_or_none(offset_text)
            if offset is None:
                usable = False
                self.report(ERROR, "offset-malformed", f"{where}#OFFSET {str(offset_text).strip()[:40]!r} is not a number", chart_label)
            elif abs(offset) > MAX_OFFSET_S:
                usable = False
                self.report(ERROR, "offset-range", f"{where}#OFFSET {offset:g} s is more than an hour", chart_label)
                offset = None
        return offset, sorted(bpms), sorted(stops), usable, extra_events

    def _check_music_tag(self, sim):
        tag = (sim.get("MUSIC") or "").strip()
        path, how = resolve_music(self.path.parent, tag)
        if how == "outside":
            self.report(ERROR, "music-outside", f"#MUSIC {tag!r} is outside the song folder (StepMania players and "
                        "ddc-sm read music only from the song's own folder); not opened")
            return None
        if path is None:
            if tag:
                self.report(ERROR, "music-missing", f"#MUSIC {tag!r} not found, and no other audio in the folder")
            else:
                self.report(ERROR, "music-missing", "no #MUSIC and no audio file in the folder")
            return None
        if how == "fallback":
            self.report(WARNING, "music-fallback", f"#MUSIC {tag!r} not found; StepMania plays {path.name} instead")
        elif how == "untagged":
            self.report(WARNING, "music-untagged", f"no #MUSIC; StepMania plays {path.name}")
        if path.suffix.lower() not in STEPMANIA_PLAYS:
            self.report(WARNING, "music-format", f"StepMania 5 cannot play {path.suffix} files ({path.name}); use .ogg or .mp3")
        return path

    def _check_music_length(self, sim, music_path: Optional[Path], end_times):
        start_text = (sim.get("SAMPLESTART") or "").strip()
        length_text = (sim.get("SAMPLELENGTH") or "").strip()
        start = float_or_none(start_text) if start_text else None
        if start_text and start is None:
            self.report(WARNING, "sample-malformed", f"#SAMPLESTART {start_text!r} is not a number")
        # SAMPLELENGTH <= 0 is fine: StepMania plays its default 12 s preview
        if length_text and float_or_none(length_text) is None:
            self.report(WARNING, "sample-malformed", f"#SAMPLELENGTH {length_text!r} is not a number")
        if start is not None and start < 0:
            self.report(WARNING, "sample-start", f"#SAMPLESTART {start:g} s is before the music starts "
                        "(the preview begins with silence)")
        if music_path is None:
            return
        duration = self.music.duration(music_path)
        if duration is None:
            why = self.music.errors.get(music_path, "unknown format")
            self.report(ERROR, "music-unreadable", f"cannot read the music {music_path.name}: {why}")
            return
        if start is not None and start >= duration:
            self.report(WARNING, "sample-start", f"#SAMPLESTART {start:.3f} s is after the music ends ({duration:.3f} s); "
                        "StepMania ignores it and picks its own preview")
        for label, t, beat in end_times:
            over = t - duration
            if over <= END_TOLERANCE_S:
                continue
            message = (f"the last note is at {t:.3f} s but the music {music_path.name} ends at {duration:.3f} s "
                       f"({over:.2f} s earlier; StepMania plays the rest in silence)")
            severity = ERROR if over > END_ERROR_S else WARNING
            self.report(severity, "notes-after-music", message, label, _measure_of(beat), beat)

    # -- one chart ----------------------------------------------------------------------------------------
    def _check_chart(self, sim, chart, index: int, song_timing, seen: dict):
        steps_type = (chart.stepstype or "").strip()
        difficulty_raw = (chart.difficulty or "").strip()
        label = _chart_label(chart)
        canon = canonical_difficulty(difficulty_raw)
        # .sm hack StepMania keeps: Hard with description "smaniac"/"challenge" is a Challenge chart
        if canon == "Hard" and self.path.suffix.lower() == ".sm" and \
                (chart.description or "").strip().lower() in ("smaniac", "challenge"):
            canon = "Challenge"
        if not steps_type:
            self.report(ERROR, "steps-type", "the chart has no steps type (StepMania skips it)", label)
        elif steps_type.lower() not in STEPS_TYPE_COLUMNS:  # StepMania reads it in any case
            self.report(WARNING, "steps-type",
                        f"unknown steps type {steps_type!r} (StepMania skips this chart); row width not checked", label)
        if canon is None:
            self.report(ERROR, "difficulty", f"unknown difficulty {difficulty_raw!r}; use one of {', '.join(DIFFICULTY_NAMES)}", label)
        elif canon.lower() != difficulty_raw.lower() and difficulty_raw.lower() in OLD_DIFFICULTY_NAMES:
            self.report(WARNING, "difficulty-old-name", f"old difficulty name {difficulty_raw!r}; StepMania reads it as {canon}", label)
        meter_text = (chart.meter or "").strip()
        meter = None
        try:
            if len(meter_text) > 12:
                raise ValueError
            meter = int(meter_text)
        except ValueError:
            self.report(ERROR, "meter", f"meter {meter_text[:20]!r}{'...' if len(meter_text) > 20 else ''} is not "
                        "a usable integer", label)
        if meter is not None and meter < 1:
            self.report(ERROR, "meter", f"meter {meter} is below 1", label)
        elif meter is not None and meter > MAX_METER:
            self.report(ERROR, "meter", f"meter {meter} is not a usable difficulty rating", label)
        if canon is not None and canon != "Edit":
            key = (steps_type.lower(), canon)
            if key in seen:
                self.report(ERROR, "duplicate-chart",
                            f"second {steps_type} {canon} chart (charts {seen[key]} and {index} in the file; only Edit may repeat)",
                            label)
            else:
                seen[key] = index

        # timing of this chart (.ssc charts may carry their own)
        own = self._chart_has_own_timing(sim, chart)
        timing = self._check_timing(chart, label) if own else song_timing

        if chart.notes is None:
            self.report(ERROR, "parse", "the chart has no note data", label)
            return None, None
        notes = self._check_notes(chart.notes, steps_type, label)
        last = None
        if notes is None:
            return None, None
        if not notes:
            self.report(WARNING, "empty-chart", "the chart has no notes", label)
        elif timing[3]:
            last_beat = max(notes, key=lambda n: n.pos / n.denom).beat
            t = self._time_at(sim, chart if own else None, last_beat, timing, label)
            if t is not None:
                last = (label, t, last_beat)
        summary = ChartSummary(
            label,
            frozenset((n.player, n.tick, n.column, n.char) for n in notes),
            timing[0], tuple(timing[1]), tuple(timing[2]),
            comparable_timing=timing[3] and not self._has_gimmicks(timing),
        )
        return summary, last

    @staticmethod
    def _chart_has_own_timing(sim, chart) -> bool:
        """An .ssc chart (#VERSION 0.7+) with timing tags of its own, #BPMS among them, is timed by them.

        (A chart with other timing tags but no #BPMS is timed here with the song's BPMs, as ``simfile``
        cannot time it and StepMania's handling of it is not something to report on.)"""
        _simfile()
        from simfile.timing._private.timingsource import timing_source

        try:
            return timing_source(sim, chart) is chart and bool((chart.get("BPMS") or "").strip())
        except Exception:
            return False

    @staticmethod
    def _has_gimmicks(timing) -> bool:
        """Negative BPMs or stops, delays, warps: timing only StepMania's own engine knows how to play."""
        return timing[4] > 0 or any(v < 0 for _b, v in timing[1]) or any(v < 0 for _b, v in timing[2])

    def _time_at(self, sim, chart, beat: Fraction, timing, label: str) -> Optional[float]:
        """Time of ``beat`` with the chart's own timing (``chart``) or the song's (``chart`` None).

        Up to ``ENGINE_MAX_EVENTS`` timing entries go through ``simfile``'s TimingEngine (exact, gimmicks
        included); it is too slow for more (200k BPM changes took minutes), so a plain timing (no negative
        BPMs or stops, no delays or warps) is then swept here in one pass, and a longer gimmick timing is
        reported as not timed."""
        offset, bpms, stops, _usable, n_extra = timing
        n_events = len(bpms) + len(stops) + n_extra
        if n_events <= ENGINE_MAX_EVENTS:
            sf = _simfile()
            try:
                engine = sf.timing.engine.TimingEngine(sf.timing.TimingData(sim, chart))
                return float(engine.time_at(sf.timing.Beat(beat.numerator, beat.denominator)))
            except Exception:
                return None
        if self._has_gimmicks(timing):
            self.report(WARNING, "timing-not-timed", f"the timing has {n_events} entries with negative BPMs or "
                        "stops, delays or warps; the notes' times (against the music's length) are not checked",
                        label)
            return None
        return _plain_time_at(offset or 0.0, bpms, stops, beat)

    def _check_notes(self, notes_text: str, steps_type: str, label: str) -> Optional[list[RawNote]]:
        """Rows per measure, row width, note characters and hold/roll pairing, from the raw note data."""
        width = STEPS_TYPE_COLUMNS.get(steps_type.lower())
        players = notes_text.split("&") if steps_type.lower() in ROUTINE_STEPS_TYPES else [notes_text]
        out: list[RawNote] = []
        # repeated findings are reported once per chart: the first, and how many more
        agg: dict[tuple, list] = {}  # (code, severity) -> [message, measure, beat, count]

        def aggregate(severity, code, message, measure, beat):
            if (code, severity) in agg:
                agg[(code, severity)][3] += 1
            else:
                agg[(code, severity)] = [message, measure, beat, 1]

        for player, text in enumerate(players):
            measures = split_measures(text)
            denom = ROWS_PER_MEASURE_GRID
            for rows in measures:
                if rows and denom % len(rows):
                    denom = denom * len(rows) // math.gcd(denom, len(rows))
            expected = width
            if expected is None:
                first = next((r for m in measures for r in m), None)
                expected = len(_row_cells(first)) if first else None
            for m, rows in enumerate(measures):
                n = len(rows)
                if n == 0:
                    if m != len(measures) - 1 and any(measures[m + 1:]):
                        aggregate(WARNING, "empty-measure", "a measure with no rows (it still counts as 4 empty beats)",
                                  m, Fraction(4 * m))
                    continue
                exact = ROWS_PER_MEASURE_GRID % n == 0
                off_grid_row = None
                step = denom // n
                for r, line in enumerate(rows):
                    cells = _row_cells(line) if "[" in line or "{" in line else line
                    pos = m * denom + r * step
                    if expected is not None and len(cells) != expected:
                        aggregate(ERROR, "row-width",
                                  f"row has {len(cells)} columns, {steps_type or 'this chart'} needs {expected}", m,
                                  Fraction(4 * pos, denom))
                    for c, ch in enumerate(cells):
                        if ch == "0":
                            continue
                        if ch not in NOTE_CHARS:
                            aggregate(ERROR, "note-char", f"unknown note character {ch!r} (StepMania reads it as empty)", m,
                                      Fraction(4 * pos, denom))
                            continue
                        if expected is not None and c >= expected:
                            continue
                        if not exact and (r * ROWS_PER_MEASURE_GRID) % n and off_grid_row is None:
                            off_grid_row = (r, Fraction(4 * pos, denom))
                        out.append(RawNote(pos, denom, c, ch, m, player))
                if n not in STANDARD_ROWS:
                    if off_grid_row is not None:
                        aggregate(ERROR, "rows-per-measure",
                                  f"{n} rows in a measure (standard: {', '.join(map(str, STANDARD_ROWS))}): StepMania moves notes "
                                  "to the nearest 192nd", m, off_grid_row[1])
                    else:
                        aggregate(WARNING, "rows-per-measure",
                                  f"{n} rows in a measure (standard: {', '.join(map(str, STANDARD_ROWS))})", m, Fraction(4 * m))
        for (code, severity), (message, m, beat, count) in sorted(agg.items(), key=lambda kv: (kv[1][1], kv[0])):
            more = f" (and {count - 1} more like it in this chart)" if count > 1 else ""
            self.report(severity, code, message + more, label, m, beat)
        self._check_holds(out, label)
        return out

    def _check_holds(self, notes: list[RawNote], label: str) -> None:
        """A 2/4 head must be closed by a 3 in the same column with no other note in that column between."""
        open_heads: dict[tuple[int, int], list] = {}  # (player, column) -> [note, broken]
        for note in sorted(notes, key=lambda n: (n.player, n.pos, n.column)):
            key = (note.player, note.column)
            head = open_heads.get(key)
            col = note.column + 1
            held, broken = column_transition(head is not None, note.char)
            if broken == TAIL_WITHOUT_HEAD:
                self.report(ERROR, "tail-without-head", f"hold/roll tail in column {col} without a head", label,
                            note.measure, note.beat)
            elif broken == INSIDE_HOLD and not head[1]:
                kind = HEAD_CHARS[head[0].char]
                if note.char in HEAD_CHARS:
                    self.report(ERROR, "hold-unclosed",
                                f"{kind} head in column {col} is not closed before the next {HEAD_CHARS[note.char]} head "
                                f"at beat {format_beat(note.beat)}", label, head[0].measure, head[0].beat)
                else:
                    self.report(ERROR, "note-inside-hold",
                                f"{_note_name(note.char)} in column {col} at beat {format_beat(note.beat)} lies inside "
                                f"the {kind} that starts here", label, head[0].measure, head[0].beat)
                    head[1] = True  # reported once; its tail is taken as closing it
            if note.char in HEAD_CHARS:
                open_heads[key] = [note, False]
            elif not held:
                open_heads.pop(key, None)
        for (player, column), (note, broken) in sorted(open_heads.items(), key=lambda kv: (kv[1][0].pos, kv[0])):
            if not broken:
                self.report(ERROR, "hold-unclosed", f"{HEAD_CHARS[note.char]} head in column {column + 1} is never closed",
                            label, note.measure, note.beat)


def _plain_time_at(offset: float, bpms, stops, beat: Fraction) -> float:
    """Time of ``beat`` for sorted BPMs (the first at beat 0, all positive) and sorted non-negative stops, in
    one pass; as in StepMania a BPM change or stop on the beat itself does not move a note on it."""
    target = float(beat)
    t, at, bpm = -offset, 0.0, bpms[0][1]
    for b, value in bpms[1:]:
        b = float(b)
        if b >= target:
            break
        t += (b - at) * 60.0 / bpm
        at, bpm = b, value
    t += (target - at) * 60.0 / bpm
    for b, value in stops:
        if b >= beat:
            break
        t += value
    return t


def _note_name(char: str) -> str:
    return {"1": "a tap", "M": "a mine", "L": "a lift", "F": "a fake", "K": "a keysound", "A": "an attack"}.get(char, repr(char))


def _chart_label(chart) -> str:
    steps_type = (chart.stepstype or "").strip() or "?"
    difficulty = (chart.difficulty or "").strip() or "?"
    label = f"{steps_type} {difficulty}"
    if difficulty.lower() == "edit" and (chart.description or "").strip():
        label += f" \"{chart.description.strip()}\""
    return label


def _chart_key(chart, path: Path) -> tuple:
    steps_type = (chart.stepstype or "").strip().lower()
    canon = canonical_difficulty(chart.difficulty or "") or (chart.difficulty or "").strip()
    if canon == "Hard" and path.suffix.lower() == ".sm" and (chart.description or "").strip().lower() in ("smaniac", "challenge"):
        canon = "Challenge"
    return (steps_type, canon, (chart.description or "").strip() if canon == "Edit" else "")


def _exc_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _simfile():
    from ddc_sm.simfiles.compat import import_simfile

    return import_simfile()


# ----------------------------------------------------------------------------------------------------------
# folders


def compare_pair(sm: SimfileChecker, ssc: SimfileChecker) -> list[Problem]:
    """One problem per chart where the .sm and the .ssc of a song disagree (notes, BPMs, stops, offset)."""
    problems = []
    if sm.sim is None or ssc.sim is None:
        return problems
    keys = list(dict.fromkeys(list(ssc.charts) + list(sm.charts)))
    for key in keys:
        a, b = sm.charts.get(key), ssc.charts.get(key)
        if a is None or b is None:
            only, other = (ssc, sm) if a is None else (sm, ssc)
            label = (b or a).label
            problems.append(Problem(sm.display, ERROR, "sm-ssc-mismatch",
                                    f"{label} is only in {only.path.name}, not in {other.path.name}", label))
            continue
        diffs, measure, beat = [], None, None
        if a.notes is not None and b.notes is not None and a.notes != b.notes:
            first = min(a.notes ^ b.notes)
            beat = Fraction(first[1], 48)
            measure = _measure_of(beat)
            diffs.append("notes")
        if a.comparable_timing and b.comparable_timing:
            if a.offset is not None and b.offset is not None and abs(a.offset - b.offset) > 0.0005:
                diffs.append(f"#OFFSET ({a.offset:g} vs {b.offset:g})")
            if not _same_values(a.bpms, b.bpms):
                diffs.append("BPMs")
            if not _same_values(a.stops, b.stops):
                diffs.append("stops")
        if diffs:
            problems.append(Problem(sm.display, ERROR, "sm-ssc-mismatch",
                                    f"{' and '.join(diffs)} differ from {ssc.path.name} (StepMania 5 plays the .ssc, "
                                    "other players the .sm)", b.label, measure, beat))
    return problems


def _same_values(a, b, tol: float = 0.0005) -> bool:
    a = [(round(beat * 48), v) for beat, v in a]
    b = [(round(beat * 48), v) for beat, v in b]
    return len(a) == len(b) and all(x[0] == y[0] and abs(x[1] - y[1]) <= tol * max(1.0, abs(x[1])) for x, y in zip(a, b))


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def check_paths(paths: Iterable[os.PathLike | str]) -> tuple[list[Problem], int]:
    """Every problem in the simfiles named by ``paths`` (files, song folders, packs) and how many files."""
    files = collect_simfiles(paths)
    music = MusicInfo()
    problems: list[Problem] = []
    by_folder: dict[Path, list[Path]] = {}
    for f in files:
        by_folder.setdefault(f.parent, []).append(f)
    for folder, given in by_folder.items():
        try:
            siblings = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                              and p.suffix.lower() in SIMFILE_EXTENSIONS)
        except OSError:
            siblings = list(given)
        for ext in SIMFILE_EXTENSIONS:
            same = [p for p in siblings if p.suffix.lower() == ext]
            if len(same) > 1:
                problems.append(Problem(_display(folder), ERROR, "duplicate-simfile",
                                        f"{len(same)} {ext} files in one song folder ({', '.join(p.name for p in same)}); "
                                        "StepMania loads only one of them"))
        checkers = {}
        for f in given:
            checker = SimfileChecker(f, _display(f), music).run()
            checkers[f] = checker
            problems += checker.problems
        sms = [p for p in siblings if p.suffix.lower() == ".sm"]
        sscs = [p for p in siblings if p.suffix.lower() == ".ssc"]
        if len(sms) == 1 and len(sscs) == 1:
            for p in (sms[0], sscs[0]):
                if p not in checkers:  # named only its sibling: read it for the comparison, report nothing else
                    checkers[p] = SimfileChecker(p, _display(p), music).run()
            problems += compare_pair(checkers[sms[0]], checkers[sscs[0]])
    return problems, len(files)


def summarize(problems: list[Problem], n_files: int) -> dict:
    errors = sum(p.severity == ERROR for p in problems)
    warnings = sum(p.severity == WARNING for p in problems)
    return {"files": n_files, "errors": errors, "warnings": warnings,
            "files_with_errors": len({p.file for p in problems if p.severity == ERROR})}
