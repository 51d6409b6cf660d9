"""Writing generated charts as StepMania .sm and .ssc files with ``simfile``.

Files are written atomically and as a unit (:func:`write_charts`): every temporary file
(``.<name>.ddc-sm-XXXX.tmp``, in the same folder) is written and synced first, then a commit record
``.ddc-sm-commit.json`` naming them, then each is renamed onto its chart, then the record goes.  A run killed
during the renames leaves the record: :func:`recover` (run by ``make`` and ``pack`` before they look at a
folder) finishes the renames; our temporaries without a record are incomplete and are removed.  An existing
file is replaced only when the caller asked for it, and keeps its permissions; new files get the umask's.

:func:`song_lock` is the per-song-folder lock (``.ddc-sm.lock``, removed after) that keeps two ddc-sm runs from
charting one song at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ddc_sm.simfiles.rows import COLUMNS, EMPTY, STEPS_TYPE
from ddc_sm.errors import ChartExistsError, SongBusyError, UserError
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
    bpms: tuple[tuple[float, float], ...] = ()  # #BPMS as (beat, BPM) from beat 0 (empty: ``bpm`` throughout)


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
    sim.bpms = ",".join(f"{_fmt(b)}={_fmt(v)}" for b, v in (info.bpms or ((0.0, info.bpm),)))
    sim.samplestart = _fmt(info.sample_start)
    sim.samplelength = _fmt(info.sample_length)
    for chart in charts:
        sim.charts.append(_new_chart(kind, chart))
    return sim


def add_charts(path: Path, charts: list[GeneratedChart]) -> str:
    """The text of the simfile at ``path`` with ``charts`` appended: the file's own text (comments, tag order,
    line endings) is kept as it is and the new charts' blocks follow it."""
    sf = import_simfile()
    _sim, encoding = sf.open_with_detected_encoding(str(path), strict=False)
    text = Path(path).read_bytes().decode(encoding)
    kind = "ssc" if path.suffix.lower() == ".ssc" else "sm"
    blocks = "".join(str(_new_chart(kind, chart)) for chart in charts)
    newline = "\r\n" if "\r\n" in text else "\n"
    if newline != "\n":
        blocks = blocks.replace("\n", newline)
    return text.rstrip() + newline + newline + blocks


def with_charts(path: Path, charts: list[GeneratedChart] | None, *, music: str | None = None) -> str:
    """The text of the simfile at ``path`` with its charts replaced by ``charts`` (None: kept; its timing and
    song tags kept), and ``#MUSIC`` set to ``music`` when given: for side-by-side views of one song."""
    sf = import_simfile()
    path = Path(path)
    sim = sf.open(str(path), strict=False)
    kind = "ssc" if path.suffix.lower() == ".ssc" else "sm"
    if charts is not None:
        sim.charts.clear()
        for chart in charts:
            sim.charts.append(_new_chart(kind, chart))
    if music is not None:
        sim.music = music
    return str(sim)


COMMIT = ".ddc-sm-commit.json"
LOCK = ".ddc-sm.lock"
_OURS = re.compile(r"^\..+\.ddc-sm-[A-Za-z0-9_]+\.tmp$")  # our temporary files' names


def new_file_mode() -> int:
    """Permissions of a new file under the current umask (0666 & ~umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def temporary_beside(path: Path, existing_mode: bool = True) -> tuple[int, str]:
    """A new temporary file of ours beside ``path`` (fd, name) with the mode ``path`` will have: its current
    mode when it exists (and ``existing_mode``), else the umask's."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.ddc-sm-", suffix=".tmp", dir=str(path.parent))
    mode = new_file_mode()
    if existing_mode:
        with contextlib.suppress(OSError):
            mode = stat.S_IMODE(os.stat(path).st_mode)
    os.fchmod(fd, mode)
    return fd, tmp


def check_targets(paths, *, overwrite: bool) -> None:
    """Refuse, before any work, targets that cannot be written: a folder in the way, an existing file without
    ``overwrite``, a folder that is not writable."""
    for path in map(Path, paths):
        if path.is_dir():
            raise UserError(f"{path} is a folder, not a chart file; nothing written")
        if path.exists() and not overwrite:
            raise ChartExistsError(f"{path} already exists (use --force to overwrite)")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise UserError(f"cannot write in {path.parent}: permission denied; nothing written")


def write_charts(texts: dict, *, overwrite: bool) -> None:
    """Write each ``{path: text}`` as one unit (see the module docstring); all paths in one folder."""
    items = [(Path(p), t) for p, t in texts.items()]
    if not items:
        return
    folder = items[0][0].parent
    if any(p.parent != folder for p, _t in items):
        raise ValueError("write_charts writes into one folder")
    check_targets([p for p, _t in items], overwrite=overwrite)
    temps: list[tuple[str, Path]] = []
    try:
        for path, text in items:
            fd, tmp = temporary_beside(path)
            temps.append((tmp, path))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        if len(temps) > 1:
            _write_commit(folder, temps)
        for tmp, path in temps:
            os.replace(tmp, path)
        (folder / COMMIT).unlink(missing_ok=True)
        _sync_dir(folder)
    except OSError as exc:
        for tmp, _path in temps:
            Path(tmp).unlink(missing_ok=True)
        (folder / COMMIT).unlink(missing_ok=True)
        raise UserError(f"cannot write {', '.join(p.name for p, _t in items)} in {folder}: "
                        f"{exc.strerror or exc}") from None
    except BaseException:
        if not (folder / COMMIT).exists():  # before the renames: nothing of the unit is in place
            for tmp, _path in temps:
                Path(tmp).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, text: str, *, overwrite: bool) -> None:
    """Write ``text`` to ``path`` via a temporary file and rename; refuse to replace unless ``overwrite``."""
    write_charts({Path(path): text}, overwrite=overwrite)


def _write_commit(folder: Path, temps) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{COMMIT}.ddc-sm-", suffix=".tmp", dir=str(folder))
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"renames": [[os.path.basename(t), p.name] for t, p in temps]}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / COMMIT)
    _sync_dir(folder)


def _sync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(str(folder), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def needs_recovery(folder) -> bool:
    """Whether :func:`recover` has anything to do in ``folder`` (a commit record or our temporaries)."""
    try:
        return any(p.name == COMMIT or _OURS.match(p.name) for p in Path(folder).iterdir())
    except OSError:
        return False


def recover(folder) -> list[Path]:
    """Finish the unit an interrupted :func:`write_charts` left (its commit record), and remove our stale
    temporaries.  Only plain files named like ours, inside ``folder``, are renamed; returns the charts
    completed.  Call it with :func:`song_lock` held."""
    from ddc_sm.simfiles.compat import SIMFILE_EXTENSIONS

    folder = Path(folder)
    done: list[Path] = []
    record = folder / COMMIT
    try:
        if record.is_file() and not record.is_symlink() and record.stat().st_size < 65536:
            renames = json.loads(record.read_text(encoding="utf-8")).get("renames", [])
            for tmp, final in renames:
                if not (isinstance(tmp, str) and isinstance(final, str) and _OURS.match(tmp)
                        and os.path.basename(final) == final and final not in ("", ".", "..")
                        and Path(final).suffix.lower() in SIMFILE_EXTENSIONS):
                    continue
                src = folder / tmp
                if src.is_symlink() or not src.is_file() or (folder / final).is_dir():
                    continue
                os.replace(src, folder / final)
                done.append(folder / final)
        record.unlink(missing_ok=True)
    except (OSError, ValueError, TypeError, AttributeError):
        with contextlib.suppress(OSError):
            record.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        for p in folder.iterdir():
            if _OURS.match(p.name) and (p.is_symlink() or p.is_file()):
                p.unlink(missing_ok=True)
    return done


@contextlib.contextmanager
def song_lock(folder):
    """Hold the song folder's lock for a ``with`` block: :class:`SongBusyError` at once when another process
    holds it (naming its pid), :class:`UserError` when the folder is not writable."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): no lock
        yield
        return
    folder = Path(folder)
    path = folder / LOCK
    while True:
        try:
            fd = os.open(str(path), os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), new_file_mode())
        except OSError as exc:
            raise UserError(f"cannot write in {folder}: {exc.strerror or exc}; nothing written") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise SongBusyError(f"{folder} is being charted by another ddc-sm (pid {pid or '?'}); nothing written "
                                "(try again when it has finished)") from None
        held, now = os.fstat(fd), None
        with contextlib.suppress(OSError):
            now = os.lstat(str(path))
        if now is not None and (now.st_ino, now.st_dev) == (held.st_ino, held.st_dev):
            break
        os.close(fd)  # the holder removed the file between our open and our lock: take the new one
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(str(path))
        os.close(fd)
