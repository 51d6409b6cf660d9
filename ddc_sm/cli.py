"""The ``ddc-sm`` command line.  Heavy libraries are imported inside the commands, so --help is fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from . import DIFFICULTIES, __version__
from .errors import UserError

app = typer.Typer(
    name="ddc-sm",
    help="Turn a song's audio into a playable StepMania chart (.sm and .ssc) beside the song.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
train_app = typer.Typer(help="Train the step placement or step selection model on simfile packs.", no_args_is_help=True)
app.add_typer(train_app, name="train")

DIFFICULTY_HELP = "Beginner, Easy, Medium, Hard, Challenge (any case), comma-separated or repeated, or 'all'."


def parse_difficulties(values: Optional[List[str]], default_all: bool = True) -> list[str]:
    """['hard'] -> ['Hard']; ['all'] or nothing -> all five; raises UserError on an unknown name."""
    names: list[str] = []
    for value in values or []:
        names += [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        return list(DIFFICULTIES) if default_all else []
    out: list[str] = []
    for name in names:
        if name.lower() == "all":
            out += [d for d in DIFFICULTIES if d not in out]
            continue
        match = [d for d in DIFFICULTIES if d.lower() == name.lower()]
        if not match:
            raise UserError(f"unknown difficulty {name!r}; use one of {', '.join(DIFFICULTIES)} or 'all'")
        if match[0] not in out:
            out.append(match[0])
    return sorted(out, key=DIFFICULTIES.index)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ddc-sm {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version.")) -> None:
    pass


@app.command()
def make(
    audio: List[Path] = typer.Argument(..., help="Audio file(s): .ogg, .mp3, .wav or .flac."),
    difficulty: Optional[List[str]] = typer.Option(None, "--difficulty", "-d", help=DIFFICULTY_HELP + " Default: all."),
    bpm: Optional[float] = typer.Option(None, "--bpm", help="Use this BPM instead of estimating it."),
    offset: Optional[float] = typer.Option(None, "--offset", help="Use this #OFFSET (seconds, = -time of beat 0) instead of estimating it."),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite existing .sm/.ssc charts."),
    add: bool = typer.Option(False, "--add", help="Keep an existing chart and its timing; add only the missing difficulties."),
    formats: str = typer.Option("sm,ssc", "--formats", help="Which chart files to write: sm, ssc or sm,ssc."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Folder with placement.pt and selection.pt (default: shipped weights)."),
    beam: int = typer.Option(20, "--beam", min=1, help="Beam width of step selection."),
    seed: int = typer.Option(0, "--seed", help="Random seed (output is deterministic for a given seed)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but warnings and errors."),
) -> None:
    """Write SONG.sm and SONG.ssc beside each audio file."""
    from .generate import make_charts

    diffs = parse_difficulties(difficulty)
    fmts = [f.strip().lower() for f in formats.split(",") if f.strip()]
    if not fmts or any(f not in ("sm", "ssc") for f in fmts):
        raise UserError(f"--formats must be sm, ssc or sm,ssc (got {formats!r})")
    failed = 0
    for path in audio:
        try:
            result = make_charts(path, diffs, bpm=bpm, offset=offset, force=force, add=add, formats=fmts,
                                 weights_dir=weights, beam_size=beam, seed=seed, log=None if quiet else _err)
        except UserError as exc:
            if len(audio) == 1:
                raise
            _err(f"error: {exc}")
            failed += 1
            continue
        if quiet:  # progress is silenced, warnings (unclear tempo, undecodable tail...) are not
            for warning in result.warnings:
                _err(f"warning: {warning}")
        else:
            for written in result.written:
                typer.echo(str(written))
    if failed:
        raise typer.Exit(1)


@app.command()
def sync(
    audio: Path = typer.Argument(..., help="Audio file."),
    top: int = typer.Option(3, "--top", min=1, help="How many BPM/offset candidates to print."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Estimate BPM and offset of a song and print the best candidates."""
    from .sync_command import run_sync

    raise typer.Exit(run_sync(audio, top=top, as_json=as_json))


@app.command()
def pack(
    pack_dir: Path = typer.Argument(..., help="Pack folder (a folder of song folders)."),
    difficulty: Optional[List[str]] = typer.Option(None, "--difficulty", "-d", help=DIFFICULTY_HELP + " Default: all."),
    add: bool = typer.Option(False, "--add", help="Add missing difficulties to songs that already have a chart."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Songs generated in parallel (processes)."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Folder with placement.pt and selection.pt."),
    match_sync: bool = typer.Option(False, "--match-sync", help="Sync new charts the way the pack's existing "
                                    "charts are synced (their median offset from the estimate)."),
) -> None:
    """Chart every song in a pack that has no chart (or lacks the asked difficulties with --add)."""
    from .pack import run_pack

    raise typer.Exit(run_pack(pack_dir, parse_difficulties(difficulty), add=add, jobs=jobs, weights_dir=weights,
                              match_sync=match_sync))


@app.command()
def check(
    paths: List[Path] = typer.Argument(..., help="Simfiles (.sm/.ssc), song folders or pack folders."),
    as_json: bool = typer.Option(False, "--json", help="Print problems as JSON."),
) -> None:
    """Lint simfiles the way StepMania loads them; exit 1 when there are errors."""
    from .check import run_check

    raise typer.Exit(run_check(paths, as_json=as_json))


@app.command("eval")
def evaluate(
    pack_dirs: List[Path] = typer.Argument(..., help="Pack folders with human charts and audio."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Folder with placement.pt and selection.pt."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    part: Optional[List[str]] = typer.Option(None, "--part", help="Only songs of this split part (train, valid, test, unseen); repeatable."),
    beam: int = typer.Option(20, "--beam", min=1, help="Beam width for the generated charts."),
    no_generate: bool = typer.Option(False, "--no-generate", help="Skip generating full charts (faster; no generated-chart statistics)."),
) -> None:
    """Score the models against human charts: placement F-score at ±20 ms, selection accuracy/perplexity, chart statistics."""
    from .evaluate import run_eval

    raise typer.Exit(run_eval(pack_dirs, weights_dir=weights, as_json=as_json, beam_size=beam,
                              generate=not no_generate, parts=part))


@app.command()
def preview(
    simfile: Path = typer.Argument(..., help="A .sm or .ssc file."),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Chart shown first (the --png chart); default: the hardest."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (default: SONG.preview.html, or SONG.<difficulty>.preview.png, beside the simfile)."),
    embed_audio: bool = typer.Option(False, "--embed-audio", help="Put the music inside the page (base64) instead of referencing it."),
    png: bool = typer.Option(False, "--png", help="Write a PNG image of the whole chart instead of the page."),
) -> None:
    """Write a self-contained HTML page (or --png image) that shows the charts scrolling with the song."""
    from .preview import write_preview

    typer.echo(str(write_preview(simfile, out, difficulty=difficulty, embed_audio=embed_audio, png=png, log=_err)))


@train_app.command("placement")
def train_placement(
    pack_dirs: List[Path] = typer.Argument(..., help="Pack folders with human charts and audio."),
    out: Path = typer.Option(..., "--out", help="Folder to write placement.pt into."),
    config: Optional[Path] = typer.Option(None, "--config", help="JSON training config (default: the shipped one)."),
) -> None:
    """Train the stage-1 step placement model (C-LSTM)."""
    from .train.placement import run_train_placement

    raise typer.Exit(run_train_placement(pack_dirs, out, config_path=config))


@train_app.command("selection")
def train_selection(
    pack_dirs: List[Path] = typer.Argument(..., help="Pack folders with human charts and audio."),
    out: Path = typer.Option(..., "--out", help="Folder to write selection.pt into."),
    config: Optional[Path] = typer.Option(None, "--config", help="JSON training config (default: the shipped one)."),
) -> None:
    """Train the stage-2 step selection model (transformer)."""
    from .train.selection import run_train_selection

    raise typer.Exit(run_train_selection(pack_dirs, out, config_path=config))


@train_app.command("jumps")
def train_jumps(
    pack_dirs: List[Path] = typer.Argument(..., help="Pack folders holding the selection model's validation songs."),
    out: Path = typer.Option(..., "--out", help="Folder to write the calibrated selection.pt into."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Folder with the selection.pt to calibrate "
                                           "(default: the shipped one)."),
    max_charts: int = typer.Option(48, "--max-charts", min=1, help="Validation charts per difficulty to calibrate on."),
) -> None:
    """Calibrate the selection model so no difficulty gets more jumps than its human charts."""
    from .train.jumps import run_calibrate_jumps

    raise typer.Exit(run_calibrate_jumps(pack_dirs, out, weights_dir=weights, max_charts=max_charts))


def _err(message: str) -> None:
    typer.echo(message, err=True)


def main(argv: Optional[List[str]] = None) -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    try:
        app(args=argv, standalone_mode=True)
    except UserError as exc:
        _err(f"error: {exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)
