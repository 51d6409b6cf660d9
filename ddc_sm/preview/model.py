"""A simfile's dance-single charts as plain data for the preview page and image.

Everything is read with the ``simfile`` library: note data with ``NoteData`` and ``group_notes`` (holds and
rolls joined to their tails), times with ``TimingEngine`` (BPM changes, stops, delays, warps, #OFFSET and the
.ssc per-chart timing), counts with ``simfile.notes.count``.  A chart's data is JSON-ready (floats, ints,
strings); the song's ``music`` is a Path or None.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional

from ddc_sm.errors import UserError
from ddc_sm.simfiles.rows import NOTE_VALUE_BY_DENOMINATOR, note_value

STEPSTYPE = "dance-single"
COLUMNS = 4
DIFFICULTY_ORDER = ("Beginner", "Easy", "Medium", "Hard", "Challenge", "Edit")

# StepMania's note values (NoteType: 4th .. 192nd) by the denominator of the beat's fraction
# (ddc_sm.simfiles.rows), and the colours its default noteskins give them.
QUANT_BY_DENOMINATOR = NOTE_VALUE_BY_DENOMINATOR
QUANT_COLORS = {
    4: "#e8322c",    # red
    8: "#2f6ce8",    # blue
    12: "#a142e6",   # purple
    16: "#f2d024",   # yellow
    24: "#f25ec4",   # pink
    32: "#f29224",   # orange
    48: "#36cfe0",   # light blue
    64: "#3fbf4a",   # green
    192: "#8c9a8c",  # gray-green
}
HOLD_COLOR = "#3fbf4a"
STEP_KINDS = ("tap", "hold", "roll", "lift")
ROLL_COLOR = "#e8b824"
MINE_COLOR = "#d02020"


def _simfile():
    """The ``simfile`` package, imported quietly (the one place this subpackage names ddc_sm's import helper)."""
    from ddc_sm.simfiles.compat import import_simfile

    return import_simfile()


def quant(beat: Fraction) -> int:
    """StepMania's note value of a beat: 4 (quarter), 8, 12, 16, 24, 32, 48, 64, else 192."""
    return note_value(beat)


def load_simfile(path: Path):
    """The parsed simfile; a missing or unreadable file is a UserError."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir() or path.suffix.lower() not in (".sm", ".ssc"):
        raise UserError(f"{path}: not a simfile (expected a .sm or .ssc file)")
    sf = _simfile()
    try:
        return sf.open(str(path), strict=False)
    except Exception as exc:  # the parser's own errors, decoding errors
        raise UserError(f"{path}: cannot read simfile: {exc}") from None


def music_path(sim, simfile_path: Path) -> Optional[Path]:
    """The song's audio, found the way StepMania finds it (#MUSIC case-insensitively, else any audio file)."""
    sf = _simfile()  # simfile.assets comes with simfile.dir
    try:
        music = sf.assets.Assets(str(Path(simfile_path).resolve().parent), simfile=sim).music
    except Exception:
        return None
    return Path(music) if music and Path(music).is_file() else None


def _canonical(name: str) -> Optional[str]:
    from ddc_sm.difficulty import canonical_difficulty

    return canonical_difficulty(name)


def _timing(engine, timing_data) -> dict:
    """Points (time, beat) between which the beat moves linearly with time; BPM changes, stops, delays, warps."""
    from simfile.timing import Beat
    from simfile.timing.engine import EventTag

    beats = {Beat(0)}
    beats.update(e.beat for e in timing_data.bpms)
    beats.update(e.beat for e in timing_data.stops)
    beats.update(e.beat for e in timing_data.delays)
    for warp in timing_data.warps:
        beats.update((warp.beat, warp.beat + Beat(warp.value)))
    points: list[list[float]] = []
    for beat in sorted(beats):
        for tag in (EventTag.WARP, EventTag.STOP_END):  # reaching the beat; leaving it (after a stop or delay)
            point = [round(float(engine.time_at(beat, tag)), 6), float(beat)]
            if not points or point != points[-1]:
                points.append(point)
    last_beat = sorted(beats)[-1]
    return {
        "points": points,
        "first_bps": float(engine.bpm_at(Beat(0))) / 60.0,
        "last_bps": float(engine.bpm_at(last_beat)) / 60.0,
        "bpms": [{"beat": float(e.beat), "time": round(float(engine.time_at(e.beat)), 6), "bpm": float(e.value)}
                 for e in timing_data.bpms],
        "stops": [{"beat": float(e.beat), "time": round(float(engine.time_at(e.beat)), 6), "seconds": float(e.value)}
                  for e in list(timing_data.stops) + list(timing_data.delays)],
        "warps": [{"beat": float(e.beat), "beats": float(e.value)} for e in timing_data.warps],
    }


def _notes(chart, engine) -> list[dict]:
    """Notes with their times: taps, lifts, fakes, mines, holds and rolls (with tails), sorted by time."""
    from simfile.notes import NoteData, NoteType
    from simfile.notes.group import NoteWithTail, OrphanedNotes, group_notes

    kinds = {NoteType.TAP: "tap", NoteType.HOLD_HEAD: "hold", NoteType.ROLL_HEAD: "roll", NoteType.MINE: "mine",
             NoteType.LIFT: "lift", NoteType.FAKE: "fake"}
    out = []
    grouped = group_notes(NoteData(chart), include_note_types=frozenset(kinds) | {NoteType.TAIL},
                          join_heads_to_tails=True, orphaned_head=OrphanedNotes.KEEP_ORPHAN,
                          orphaned_tail=OrphanedNotes.DROP_ORPHAN)
    for group in grouped:
        for note in group:
            if note.column >= COLUMNS:
                continue
            item = {"t": round(float(engine.time_at(note.beat)), 6), "b": float(note.beat), "c": note.column,
                    "k": kinds[note.note_type], "q": quant(note.beat)}
            if isinstance(note, NoteWithTail):
                item["et"] = round(float(engine.time_at(note.tail_beat)), 6)
                item["eb"] = float(note.tail_beat)
            elif item["k"] in ("hold", "roll"):  # a head without a tail: StepMania plays it as a tap
                item["k"] = "tap"
            if not engine.hittable(note.beat):  # inside a warp: StepMania turns it into a fake
                item["fake"] = True
            out.append(item)
    out.sort(key=lambda n: (n["t"], n["b"], n["c"]))
    return out


def _stats(chart, notes: list[dict], engine) -> tuple[dict, list]:
    """StepMania's counts (simfile.notes.count); steps per second over the chart (first to last step), per
    measure ([start, end, NPS], the mini-map) and in the densest measure."""
    from simfile.notes import NoteData
    from simfile.notes.count import count_hands, count_jumps, count_mines, count_steps
    from simfile.notes.count import count_holds, count_rolls
    from simfile.notes.group import OrphanedNotes
    from simfile.timing import Beat

    nd = NoteData(chart)
    drop = {"orphaned_head": OrphanedNotes.DROP_ORPHAN, "orphaned_tail": OrphanedNotes.DROP_ORPHAN}
    stats = {"steps": count_steps(nd), "jumps": count_jumps(nd), "hands": count_hands(nd),
             "holds": count_holds(nd, **drop), "rolls": count_rolls(nd, **drop), "mines": count_mines(nd)}
    step_rows = sorted({(n["t"], n["b"]) for n in notes if n["k"] in STEP_KINDS and not n.get("fake")})
    span = step_rows[-1][0] - step_rows[0][0] if len(step_rows) > 1 else 0.0
    stats["nps_avg"] = round(len(step_rows) / span, 2) if span > 0 else 0.0
    # per measure (rows with a step over the measure's seconds), as Simply Love's density graph; peak = densest
    per_measure: dict[int, int] = {}
    for _, beat in step_rows:
        per_measure[int(beat // 4)] = per_measure.get(int(beat // 4), 0) + 1
    density = []
    for measure, count in sorted(per_measure.items()):
        t0, t1 = (float(engine.time_at(Beat(4 * m))) for m in (measure, measure + 1))
        if t1 > t0:
            density.append([round(t0, 4), round(t1, 4), round(count / (t1 - t0), 2)])
    stats["nps_peak"] = max((d[2] for d in density), default=0.0)
    return stats, density


def chart_label(chart: dict) -> str:
    label = f"{chart['difficulty']} {chart['meter']}".strip()
    return f"{label} ({chart['description']})" if chart.get("description") else label


def load_song(simfile_path, *, log: Optional[Callable[[str], None]] = None) -> dict:
    """The preview data of a simfile: title, artist, music, and its dance-single charts easiest first.

    Raises UserError for a missing/unreadable file or one without a readable dance-single chart.  A chart
    whose notes or timing cannot be read is left out with a warning through ``log``."""
    sf = _simfile()
    path = Path(simfile_path)
    sim = load_simfile(path)
    charts = []
    for index, chart in enumerate(sim.charts):
        if (chart.stepstype or "").strip().lower() != STEPSTYPE:
            continue
        name = (chart.difficulty or "").strip()
        difficulty = _canonical(name) or name or "Edit"
        try:
            timing_data = sf.timing.TimingData(sim, chart)
            engine = sf.timing.engine.TimingEngine(timing_data)
            notes = _notes(chart, engine)
            timing = _timing(engine, timing_data)
            stats, density = _stats(chart, notes, engine)
        except Exception as exc:
            if log:
                log(f"warning: {path.name}: {difficulty} chart left out: cannot read it: {exc}")
            continue
        meter = (chart.meter or "").strip()
        charts.append({"difficulty": difficulty, "meter": int(meter) if meter.isdigit() else meter,
                       "description": (chart.description or "").strip(), "index": index,
                       "notes": notes, "timing": timing, "stats": stats, "density": density})
    if not charts:
        raise UserError(f"{path}: no readable {STEPSTYPE} chart")
    order = {d: i for i, d in enumerate(DIFFICULTY_ORDER)}
    charts.sort(key=lambda c: (order.get(c["difficulty"], len(order)), c["index"]))
    for chart in charts:
        chart["label"] = chart_label(chart)
    return {"title": (sim.title or path.stem).strip(), "subtitle": (sim.get("SUBTITLE") or "").strip(),
            "artist": (sim.artist or "").strip(), "simfile": path.name, "charts": charts,
            "music": music_path(sim, path)}


def pick_chart(song: dict, difficulty: Optional[str]) -> int:
    """Index in song['charts'] of the asked difficulty (any case, old names too); default: the hardest (an Edit
    only when there is nothing else)."""
    charts = song["charts"]
    if difficulty is None:
        main = [i for i, c in enumerate(charts) if c["difficulty"] in DIFFICULTY_ORDER[:-1]]
        return main[-1] if main else len(charts) - 1
    have = ", ".join(c["label"] for c in charts)
    canon = _canonical(difficulty)
    if canon is None:
        raise UserError(f"unknown difficulty {difficulty!r}; {song['simfile']} has {have}")
    for i, chart in enumerate(charts):
        if chart["difficulty"] == canon:
            return i
    raise UserError(f"{song['simfile']} has no {STEPSTYPE} {canon} chart; it has {have}")


def song_length(song: dict) -> float:
    """Seconds the preview spans: the music's length when it can be read, else the last note plus 2 s."""
    last = 0.0
    for chart in song["charts"]:
        for note in chart["notes"]:
            last = max(last, note.get("et", note["t"]))
    length = last + 2.0
    if song.get("music"):
        try:
            import soundfile

            length = max(length, float(soundfile.info(str(song["music"])).duration))
        except Exception:
            pass
    return round(length, 3)
