"""``ddc-sm stats CHART...``: how each dance-single chart plays, as a table (rich) or JSON.

For each chart: its footing's tech (:mod:`ddc_sm.simfiles.footing`: crossovers, footswitches, sideswitches, jacks,
brackets, doublesteps; counts and per 100 steps), its streams (breakdown, longest run of 16ths, share of rest
measures, notes-per-second peak) and StepMania 5's groove radar.  Notes, beats and times are read with
``simfile`` (:func:`ddc_sm.simfiles.dataset.chart_rows`); the radar needs the music's length, read from the
song's audio header, else (no readable music) the time of the chart's last note.

Paths are simfiles (used as given) or folders: each song folder under a folder stands for the simfile
StepMania loads from it (its .ssc, else its .sm).  A simfile that cannot be read is an ``error:`` line; with
one simfile that is the command's error (exit 2), with several the others are still shown and the exit code
is 1.  A chart whose notes or timing cannot be read is left out with a warning.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterable, Optional

from ddc_sm.errors import AudioError, SimfileError, UserError

TECH_LABELS = (("crossovers", "crossovers"), ("footswitches", "footswitches"), ("sideswitches", "sideswitches"),
               ("jacks", "jacks"), ("brackets", "brackets"), ("doublesteps", "doublesteps"))
LEGEND = ("tech: count (per 100 steps) on the footing ddc-sm finds; stream breakdown: runs of measures with 16+ "
          "steps, (rests); longest stream: steps in the longest run of 16ths")
RADAR_LABELS = (("stream", "radar stream"), ("voltage", "radar voltage"), ("air", "radar air"),
                ("freeze", "radar freeze"), ("chaos", "radar chaos"))


def stats_simfiles(paths: Iterable) -> list[Path]:
    """The simfiles to report: files as given; for a folder, each song folder's .ssc (else .sm) beneath it.
    :class:`UserError` for a missing path, a file that is no simfile, or nothing found."""
    from ddc_sm.simfiles.folders import collect_simfiles, loaded_simfile

    paths = list(paths)
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        found = collect_simfiles([path])
        if path.is_dir():
            by_folder: dict[Path, list[Path]] = {}
            for f in found:
                by_folder.setdefault(f.parent, []).append(f)
            out += [loaded_simfile(files) for files in by_folder.values()]
        else:
            out += found
    out = list(dict.fromkeys(out))
    if not out:
        raise UserError("no .sm or .ssc files found in " + ", ".join(str(p) for p in paths))
    return out


def music_seconds(sim, simfile_path: Path) -> Optional[float]:
    """The length of the song's music (StepMania's lookup of #MUSIC), None when there is none to read."""
    from ddc_sm.audio.decode import header_duration
    from ddc_sm.simfiles.music import resolve_music

    music, _ = resolve_music(simfile_path.parent, sim.get("MUSIC") or "")
    if music is None:
        return None
    try:
        return header_duration(music)
    except (AudioError, OSError):
        return None


def simfile_report(path: Path, warn=None) -> dict:
    """Every dance-single chart of one simfile: ``{"simfile", "title", "artist", "music_seconds", "charts"}``,
    each chart ``{"difficulty", "meter", "description", "song_seconds", "song_seconds_from", **pattern_stats}``.
    Raises :class:`SimfileError` when the file cannot be read."""
    from ddc_sm.difficulty import DIFFICULTIES, canonical_difficulty
    from ddc_sm.simfiles.compat import read_existing_chart
    from ddc_sm.simfiles.dataset import chart_rows
    from ddc_sm.simfiles.footing import pattern_stats
    from ddc_sm.simfiles.rows import STEPS_TYPE

    sim = read_existing_chart(path, what="simfile", force_hint=False)
    seconds = music_seconds(sim, path)
    charts = []
    for chart in sim.charts:
        if (chart.stepstype or "").strip().lower() != STEPS_TYPE:
            continue
        name = (chart.difficulty or "").strip()
        difficulty = canonical_difficulty(name) or name or "Edit"
        try:
            times, rows, beats = chart_rows(sim, chart)
        except Exception:
            if warn:
                warn(f"warning: {path.name}: {difficulty} chart left out: its notes or timing cannot be read")
            continue
        song_seconds, source = seconds, "music"
        if not song_seconds:
            song_seconds, source = (float(times[-1]) if len(times) else None), "last note"
        report = pattern_stats(rows, times, beats, song_seconds=song_seconds if song_seconds else None)
        charts.append({"difficulty": difficulty, "meter": (chart.meter or "").strip(),
                       "description": (chart.description or "").strip(), "song_seconds": song_seconds,
                       "song_seconds_from": source, **report})
    order = {d: i for i, d in enumerate(DIFFICULTIES)}
    charts.sort(key=lambda c: order.get(c["difficulty"], len(order)))
    if not charts and warn:
        warn(f"warning: {path.name}: no readable {STEPS_TYPE} chart")
    return {"simfile": str(path), "title": (sim.title or "").strip(), "artist": (sim.artist or "").strip(),
            "music_seconds": seconds, "charts": charts}


def _table(report: dict):
    from rich.markup import escape
    from rich.table import Table

    title = report["title"] or Path(report["simfile"]).stem
    table = Table(title=escape(f"{report['simfile']}: {title}"), title_justify="left")
    table.add_column("", no_wrap=True)
    for chart in report["charts"]:
        label = f"{chart['difficulty']} {chart['meter']}".strip()
        table.add_column(escape(label + (f" ({chart['description']})" if chart["description"] else "")), justify="right")
    charts = report["charts"]

    def row(label, cells):
        table.add_row(label, *cells)

    row("steps", [str(c["steps"]) for c in charts])
    for key, label in TECH_LABELS:
        row(label, [f"{c['tech'][key]} ({c['tech_per_100'][key]:.1f})" for c in charts])
    row("stream breakdown", [escape(c["stream"]["breakdown"]) for c in charts])
    row("longest stream", [str(c["stream"]["longest_stream"]) for c in charts])
    row("rest measures", [f"{100 * c['stream']['rest_share']:.0f}%" for c in charts])
    row("NPS peak (2 s)", [f"{c['stream']['nps_peak']:.2f}" for c in charts])
    for key, label in RADAR_LABELS:
        row(label, [f"{c['radar'][key]:.2f}" if c["radar"] else "-" for c in charts])
    froms = sorted({c["song_seconds_from"] for c in charts if c["song_seconds"]})
    seconds = [c["song_seconds"] for c in charts if c["song_seconds"]]
    if seconds:
        table.caption = f"groove radar over {max(seconds):.1f} s ({' / '.join(froms)})"
        table.caption_justify = "left"
    return table


def run_stats(paths, as_json: bool = False, out=None, err=None) -> int:
    """Print the stats of ``paths`` (simfiles or folders); 0, or 1 when some of several simfiles could not be
    read.  With a single simfile its read error is raised (:class:`SimfileError`)."""
    out = out or sys.stdout
    err = err or sys.stderr

    def warn(message: str) -> None:
        err.write(message + "\n")

    files = stats_simfiles(paths)
    reports, failed = [], 0
    for path in files:
        try:
            reports.append(simfile_report(path, warn=warn))
        except SimfileError as exc:
            if len(files) == 1:
                raise
            warn(f"error: {exc}")
            failed += 1
    if not any(r["charts"] for r in reports) and not failed:
        raise UserError("no readable dance-single chart in " + ", ".join(str(p) for p in files))
    if as_json:
        json.dump({"simfiles": reports}, out, indent=2)
        out.write("\n")
    else:
        from rich.console import Console

        console = Console(file=out, width=None if getattr(out, "isatty", lambda: False)() else 120)
        for report in reports:
            if report["charts"]:
                console.print(_table(report))
        if any(r["charts"] for r in reports):
            console.print(LEGEND, highlight=False)
    return 1 if failed else 0
