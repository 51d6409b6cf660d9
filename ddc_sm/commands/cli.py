"""The ``ddc-sm`` command line.  Heavy libraries are imported inside the commands, so --help is fast."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import List, Optional

import typer

from ddc_sm import __version__
from ddc_sm.difficulty import parse_difficulties
from ddc_sm.errors import DdcSmError, UserError

app = typer.Typer(
    name="ddc-sm",
    help="Turn a song's audio into a playable StepMania chart (.sm and .ssc) beside the song.",
    add_completion=True,
    pretty_exceptions_enable=False,
)
train_app = typer.Typer(help="Train the step placement or step selection model or the critic, or calibrate the "
                             "selection model's jumps, on simfile packs.")
app.add_typer(train_app, name="train")

CANDIDATES_HELP = ("Decode N seeded charts per difficulty (seeds SEED..SEED+N-1) and keep the one the critic finds "
                   "most like a human chart's arrows; N times the selection time.")
DIFFICULTY_HELP = "Beginner, Easy, Medium, Hard, Challenge (any case), comma-separated or repeated, or 'all'."
FINEST_HELP = ("Finest note value any chart may use: 4th, 8th, 16th, 32nd or 64th (no triplets). Default: each "
               "difficulty's own (Beginner/Easy 8th, Medium/Hard 16th, Challenge 64th).")
THREADS_HELP = ("Threads for the large batched work (placement over the whole song); the beam search always "
                "runs on one. Default: $DDC_SM_THREADS, else 1 (the same chart on a busy machine, no slower).")
WORKERS_HELP = ("Processes that share the song's work (the tempo beside the audio features, placement's difficulties, "
                "the charts' beam searches), one thread each. Default: $DDC_SM_WORKERS, else one per core. The "
                "charts are the same whatever N.")
TRAIN_THREADS_HELP = "torch threads for training (default: the config's \"threads\", 1 in the shipped configs)."
FLAG = ""  # metavar of an on/off flag: shown as a bare flag, never as taking a value


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ddc-sm {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context,
          version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True, metavar=FLAG,
                                       help="Print the version and exit.")) -> None:
    if ctx.invoked_subcommand is None:  # bare `ddc-sm`: the help, and success
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


@train_app.callback(invoke_without_command=True)
def _train_root(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def parse_finest(value: Optional[str]) -> Optional[int]:
    """'16th' -> 16; None -> None; UserError for anything else."""
    if value is None:
        return None
    from ddc_sm.timing.grid import parse_note_value

    try:
        return parse_note_value(value)
    except ValueError as exc:
        raise UserError(f"--finest: {exc}") from None


def parse_formats(formats: str) -> list[str]:
    fmts = [f.strip().lower() for f in formats.split(",") if f.strip()]
    if not fmts or any(f not in ("sm", "ssc") for f in fmts):
        raise UserError(f"--formats must be sm, ssc or sm,ssc (got {formats!r})")
    return list(dict.fromkeys(fmts))


def check_audio_paths(paths: List[Path]) -> List[Path]:
    """Every audio path exists, is a file and has an audio extension, before any song is charted."""
    from ddc_sm.audio.decode import AUDIO_EXTENSIONS

    problems = []
    for path in paths:
        if not path.exists():
            hint = (" (flags such as --force and --add take no value)"
                    if path.name.lower() in ("true", "false", "yes", "no", "on", "off", "1", "0") else "")
            problems.append(f"audio file not found: {path}{hint}")
        elif path.is_dir():
            problems.append(f"{path} is a folder, not an audio file (use `ddc-sm pack {path}` for a pack)")
        elif path.suffix.lower() not in AUDIO_EXTENSIONS:
            problems.append(f"{path} is not an audio file ({', '.join(AUDIO_EXTENSIONS)})")
    if problems:
        raise UserError("; ".join(problems) + "; nothing written")
    unique = list(dict.fromkeys(p.resolve() for p in paths))
    if len(unique) != len(paths):
        raise UserError("an audio file is given twice; nothing written")
    return paths


@app.command()
def make(
    audio: List[Path] = typer.Argument(..., metavar="SONG...", show_default=False,
                                       help="Audio file(s): .ogg, .mp3, .wav or .flac."),
    difficulty: Optional[List[str]] = typer.Option(None, "--difficulty", "-d", metavar="NAMES",
                                                   help=DIFFICULTY_HELP + " Default: all."),
    bpm: Optional[float] = typer.Option(None, "--bpm", metavar="BPM", help="Use this BPM instead of estimating it."),
    offset: Optional[float] = typer.Option(None, "--offset", metavar="SECONDS",
                                           help="Use this #OFFSET (seconds, = -time of beat 0) instead of estimating it."),
    force: bool = typer.Option(False, "--force", "-f", metavar=FLAG, help="Overwrite existing .sm/.ssc charts."),
    add: bool = typer.Option(False, "--add", metavar=FLAG,
                             help="Keep an existing chart and its timing; add only the missing difficulties."),
    formats: str = typer.Option("sm,ssc", "--formats", metavar="sm,ssc", help="Which chart files to write: sm, ssc or both."),
    finest: Optional[str] = typer.Option(None, "--finest", metavar="NOTE", help=FINEST_HELP),
    title: Optional[str] = typer.Option(None, "--title", metavar="TEXT",
                                        help="#TITLE (default: the audio's tags, else its file name)."),
    subtitle: Optional[str] = typer.Option(None, "--subtitle", metavar="TEXT", help="#SUBTITLE (default: none)."),
    artist: Optional[str] = typer.Option(None, "--artist", metavar="TEXT",
                                         help="#ARTIST (default: the audio's tags, else its file name)."),
    weights: Optional[Path] = typer.Option(None, "--weights", metavar="DIR",
                                           help="Folder with placement.pt and selection.pt (default: shipped weights)."),
    beam: int = typer.Option(20, "--beam", min=1, metavar="N", help="Beam width of step selection."),
    seed: int = typer.Option(0, "--seed", metavar="N", help="Random seed (output is deterministic for a given seed)."),
    candidates: int = typer.Option(1, "--candidates", min=1, metavar="N", help=CANDIDATES_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", metavar=FLAG, help="Print nothing but warnings and errors."),
    preview: bool = typer.Option(False, "--preview", metavar=FLAG,
                                 help="Also write SONG.preview.html beside the charts (see `ddc-sm preview`)."),
    threads: Optional[int] = typer.Option(None, "--threads", metavar="N", help=THREADS_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", metavar="N", help=WORKERS_HELP),
) -> None:
    """Write SONG.sm and SONG.ssc beside each audio file."""
    from ddc_sm import threads as thread_policy

    thread_policy.configure(threads, workers)  # before numpy and torch load their thread pools
    from ddc_sm.pipeline.make import make_charts

    diffs = parse_difficulties(difficulty)
    fmts = parse_formats(formats)
    note = parse_finest(finest)
    from ddc_sm.pipeline.make import check_timing_options

    check_timing_options(bpm, offset)
    if len(audio) > 1 and (title is not None or artist is not None or subtitle is not None):
        raise UserError("--title, --artist and --subtitle name one song: give one audio file with them")
    check_audio_paths(audio)
    from ddc_sm.weights import bundle_path

    for kind in ("placement", "selection"):  # missing weights: one error before any song, not one per song
        bundle_path(kind, weights)
    from ddc_sm.commands.display import MakeDisplay

    failed = 0
    for path in audio:
        display = MakeDisplay(path.name, quiet=quiet)
        try:
            result = make_charts(path, diffs, bpm=bpm, offset=offset, force=force, add=add, formats=fmts,
                                 weights_dir=weights, beam_size=beam, seed=seed, candidates=candidates,
                                 log=None if quiet else display.log,
                                 title=title, artist=artist, subtitle=subtitle, finest=note, preview=preview,
                                 progress=display)
        except DdcSmError as exc:
            display.abort()
            if len(audio) == 1:
                raise
            _err(f"error: {exc}")
            failed += 1
            continue
        except BaseException:
            display.abort()
            raise
        if quiet:  # progress is silenced, warnings (unclear tempo, undecodable tail...) are not
            for warning in result.warnings:
                _err(f"warning: {warning}")
        else:
            for written in result.written + result.previews:
                typer.echo(str(written))
    if failed:
        raise typer.Exit(1)


@app.command()
def sync(
    audio: Path = typer.Argument(..., metavar="SONG", help="Audio file."),
    top: int = typer.Option(3, "--top", min=1, metavar="N", help="How many BPM/offset candidates to print."),
    as_json: bool = typer.Option(False, "--json", metavar=FLAG, help="Print JSON instead of a table."),
    bpm: Optional[float] = typer.Option(None, "--bpm", metavar="BPM",
                                        help="With --offset: also check how this grid fits the audio."),
    offset: Optional[float] = typer.Option(None, "--offset", metavar="SECONDS",
                                           help="With --bpm: the grid's #OFFSET (seconds, = -time of beat 0)."),
) -> None:
    """Estimate BPM and offset of a song, print the best candidates and how the best one (or a given grid) fits."""
    from ddc_sm.commands.sync import run_sync

    raise typer.Exit(run_sync(audio, top=top, as_json=as_json, bpm=bpm, offset=offset))


@app.command()
def pack(
    pack_dir: Path = typer.Argument(..., metavar="PACK_DIR", help="Pack folder (a folder of song folders)."),
    difficulty: Optional[List[str]] = typer.Option(None, "--difficulty", "-d", metavar="NAMES",
                                                   help=DIFFICULTY_HELP + " Default: all."),
    add: bool = typer.Option(False, "--add", metavar=FLAG, help="Add missing difficulties to songs that already have a chart."),
    formats: str = typer.Option("sm,ssc", "--formats", metavar="sm,ssc", help="Which chart files to write: sm, ssc or both."),
    finest: Optional[str] = typer.Option(None, "--finest", metavar="NOTE", help=FINEST_HELP),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, metavar="N", help="Songs generated in parallel (processes)."),
    weights: Optional[Path] = typer.Option(None, "--weights", metavar="DIR", help="Folder with placement.pt and selection.pt."),
    beam: int = typer.Option(20, "--beam", min=1, metavar="N", help="Beam width of step selection."),
    seed: int = typer.Option(0, "--seed", metavar="N", help="Random seed (output is deterministic for a given seed)."),
    candidates: int = typer.Option(1, "--candidates", min=1, metavar="N", help=CANDIDATES_HELP),
    match_sync: bool = typer.Option(False, "--match-sync", metavar=FLAG, help="Sync new charts the way the pack's "
                                    "existing charts are synced (their median offset from the estimate)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", metavar=FLAG,
                               help="No progress bar or list of written files; only failures."),
    preview: bool = typer.Option(False, "--preview", metavar=FLAG,
                                 help="Also write a preview page beside each song's new charts (see `ddc-sm preview`)."),
    bpm: Optional[float] = typer.Option(None, "--bpm", hidden=True),
    offset: Optional[float] = typer.Option(None, "--offset", hidden=True),
    threads: Optional[int] = typer.Option(None, "--threads", metavar="N",
                                          help=THREADS_HELP + " Per song being generated (--jobs)."),
) -> None:
    """Chart every song in a pack that has no chart (or lacks the asked difficulties with --add).

    Each song's BPM and offset are estimated from its audio (--match-sync follows the pack's sync); to set
    them by hand, chart that song with `ddc-sm make SONG --bpm X --offset Y`.
    """
    from ddc_sm import threads as thread_policy

    per_song = thread_policy.configure(threads)
    from ddc_sm.pipeline.pack import run_pack

    if bpm is not None or offset is not None:
        raise UserError("pack estimates each song's own BPM and offset, so --bpm/--offset do not apply; chart a "
                        "song with fixed timing with `ddc-sm make SONG --bpm X --offset Y` (pack then skips it)")
    diffs, fmts, note = parse_difficulties(difficulty), parse_formats(formats), parse_finest(finest)
    raise typer.Exit(run_pack(pack_dir, diffs, add=add, jobs=jobs, weights_dir=weights, match_sync=match_sync,
                              formats=fmts, beam_size=beam, seed=seed, finest=note, quiet=quiet,
                              preview=preview, threads=per_song, candidates=candidates))


@app.command()
def check(
    paths: List[Path] = typer.Argument(..., metavar="PATH...", help="Simfiles (.sm/.ssc), song folders or pack folders."),
    as_json: bool = typer.Option(False, "--json", metavar=FLAG, help="Print problems as JSON."),
    strict: bool = typer.Option(False, "--strict", metavar=FLAG, help="Exit 1 on warnings too (for pre-commit and CI)."),
) -> None:
    """Lint simfiles the way StepMania loads them; exit 1 when there are errors (or warnings, with --strict)."""
    from ddc_sm.commands.check import run_check

    raise typer.Exit(run_check(paths, as_json=as_json, strict=strict))


@app.command()
def stats(
    paths: List[Path] = typer.Argument(..., metavar="CHART...", help="Simfiles (.sm/.ssc), song folders or pack folders."),
    as_json: bool = typer.Option(False, "--json", metavar=FLAG, help="Print JSON instead of tables."),
) -> None:
    """Print how each dance-single chart plays: footing tech (crossovers, footswitches, jacks, brackets, doublesteps),
    streams, NPS peak and the groove radar."""
    from ddc_sm.commands.stats import run_stats

    raise typer.Exit(run_stats(paths, as_json=as_json))


@app.command("eval")
def evaluate(
    pack_dirs: List[Path] = typer.Argument(..., metavar="PACK_DIR...", help="Pack folders with human charts and audio."),
    weights: Optional[Path] = typer.Option(None, "--weights", metavar="DIR", help="Folder with placement.pt and selection.pt."),
    as_json: bool = typer.Option(False, "--json", metavar=FLAG, help="Print JSON instead of a table."),
    part: Optional[List[str]] = typer.Option(None, "--part", metavar="PART", help="Only songs of this split part (train, valid, test, unseen); repeatable."),
    beam: int = typer.Option(20, "--beam", min=1, metavar="N", help="Beam width for the generated charts."),
    no_generate: bool = typer.Option(False, "--no-generate", metavar=FLAG, help="Skip generating full charts (faster; no generated-chart statistics)."),
    preview: Optional[Path] = typer.Option(None, "--preview", metavar="DIR",
                                           help="Write the generated and the human charts of each scored song side by "
                                                "side as preview pages into DIR."),
    threads: Optional[int] = typer.Option(None, "--threads", metavar="N", help=THREADS_HELP),
) -> None:
    """Score the models against human charts: placement F-score at ±20 ms, selection accuracy/perplexity, chart statistics."""
    from ddc_sm import threads as thread_policy

    thread_policy.configure(threads)
    from ddc_sm.pipeline.evaluate import run_eval

    if preview is not None and no_generate:
        raise UserError("--preview shows the generated charts: it cannot be used with --no-generate")
    raise typer.Exit(run_eval(pack_dirs, weights_dir=weights, as_json=as_json, beam_size=beam,
                              generate=not no_generate, parts=part, preview_dir=preview))


@app.command()
def preview(
    simfile: Path = typer.Argument(..., metavar="SIMFILE", help="A .sm or .ssc file."),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", metavar="NAME",
                                             help="Chart shown first (the --png chart); default: the hardest."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="FILE",
                                       help="Output file (default: SONG.preview.html, or SONG.<difficulty>.preview.png, "
                                            "beside the simfile)."),
    embed_audio: bool = typer.Option(False, "--embed-audio", metavar=FLAG,
                                     help="Put the music inside the page (base64) instead of referencing it."),
    png: bool = typer.Option(False, "--png", metavar=FLAG, help="Write a PNG image of the whole chart instead of the page."),
) -> None:
    """Write a self-contained HTML page (or --png image) that shows the charts scrolling with the song."""
    from ddc_sm.preview import write_preview

    typer.echo(str(write_preview(simfile, out, difficulty=difficulty, embed_audio=embed_audio, png=png, log=_err)))


@train_app.command("placement")
def train_placement(
    pack_dirs: List[Path] = typer.Argument(..., metavar="PACK_DIR...", help="Pack folders with human charts and audio."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Folder to write placement.pt into."),
    config: Optional[Path] = typer.Option(None, "--config", metavar="FILE", help="JSON training config (default: the shipped one)."),
    threads: Optional[int] = typer.Option(None, "--threads", metavar="N", help=TRAIN_THREADS_HELP),
) -> None:
    """Train the stage-1 step placement model (C-LSTM)."""
    from ddc_sm import threads as thread_policy

    if threads is not None:
        thread_policy.configure(threads)
    from ddc_sm.placement.train import run_train_placement

    raise typer.Exit(run_train_placement(pack_dirs, out, config_path=config, threads=threads))


@train_app.command("selection")
def train_selection(
    pack_dirs: List[Path] = typer.Argument(..., metavar="PACK_DIR...", help="Pack folders with human charts and audio."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Folder to write selection.pt into."),
    config: Optional[Path] = typer.Option(None, "--config", metavar="FILE", help="JSON training config (default: the shipped one)."),
    threads: Optional[int] = typer.Option(None, "--threads", metavar="N", help=TRAIN_THREADS_HELP),
) -> None:
    """Train the stage-2 step selection model (transformer)."""
    from ddc_sm import threads as thread_policy

    if threads is not None:
        thread_policy.configure(threads)
    from ddc_sm.selection.train import run_train_selection

    raise typer.Exit(run_train_selection(pack_dirs, out, config_path=config, threads=threads))


@train_app.command("critic")
def train_critic(
    pack_dirs: List[Path] = typer.Argument(..., metavar="PACK_DIR...", help="Pack folders with human charts."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Folder to write critic.pt into."),
    config: Optional[Path] = typer.Option(None, "--config", metavar="FILE", help="JSON training config (partial; "
                                          "default: ddc_sm.selection.train_critic.DEFAULT_CONFIG)."),
    threads: Optional[int] = typer.Option(None, "--threads", metavar="N", help=TRAIN_THREADS_HELP),
) -> None:
    """Train the musicality critic (human charts against corrupted copies) that make --candidates ranks by."""
    from ddc_sm.selection.train_critic import run_train_critic

    raise typer.Exit(run_train_critic(pack_dirs, out, config_path=config, threads=threads))


@train_app.command("jumps")
def train_jumps(
    pack_dirs: List[Path] = typer.Argument(..., metavar="PACK_DIR...", help="Pack folders holding the selection model's validation songs."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Folder to write the calibrated selection.pt into."),
    weights: Optional[Path] = typer.Option(None, "--weights", metavar="DIR", help="Folder with the selection.pt to calibrate "
                                           "(default: the shipped one)."),
    max_charts: int = typer.Option(48, "--max-charts", min=1, metavar="N", help="Validation charts per difficulty to calibrate on."),
    threads: Optional[int] = typer.Option(None, "--threads", metavar="N", help=THREADS_HELP),
) -> None:
    """Calibrate the selection model so no difficulty gets more jumps than its human charts."""
    from ddc_sm import threads as thread_policy

    thread_policy.configure(threads)
    from ddc_sm.pipeline.calibrate_jumps import run_calibrate_jumps

    raise typer.Exit(run_calibrate_jumps(pack_dirs, out, weights_dir=weights, max_charts=max_charts))


def _err(message: str) -> None:
    typer.echo(message, err=True)


class Interrupted(BaseException):
    """Ctrl-C (SIGINT) while a command runs."""


def main(argv: Optional[List[str]] = None) -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    import signal

    def interrupted(_sig, _frame):  # not a KeyboardInterrupt: Click would swallow that and print 'Aborted!'
        raise Interrupted()

    with contextlib.suppress(ValueError):  # not the main thread: leave SIGINT alone
        signal.signal(signal.SIGINT, interrupted)
    try:
        app(args=argv, standalone_mode=True)
    except DdcSmError as exc:
        _err(f"error: {exc}")
        sys.exit(2)
    except (Interrupted, KeyboardInterrupt):
        _err("interrupted")
        sys.exit(130)
