"""Which audio file a song folder plays, the way StepMania finds it.

One lookup serves ``check``, reading packs, ``make`` and ``pack``.  ``simfile``'s ``assets().music`` is not
used for it: its fallback takes the first audio file in directory-listing order (StepMania looks by extension:
.mp3, .oga, .ogg, .wav, passing over an ``intro*`` file), and it finds no FLAC, which ``make`` converts.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

from ddc_sm.audio.decode import AUDIO_EXTENSIONS, STEPMANIA_PLAYS
from ddc_sm.errors import SimfileError
from ddc_sm.simfiles.compat import SIMFILE_EXTENSIONS


def music_tag(simfile_path: str | os.PathLike) -> str:
    """The #MUSIC value of a simfile, read cheaply ('' when absent or unreadable)."""
    try:
        with open(simfile_path, "rb") as f:  # #MUSIC is in the header: a huge file is not read whole
            text = f.read(1 << 20).decode("utf-8", errors="replace")
    except OSError:
        return ""
    m = re.search(r"#MUSIC:([^;]*);", text, flags=re.IGNORECASE)
    return m.group(1).strip() if m else ""


def inside(folder: str | os.PathLike, path: str | os.PathLike) -> bool:
    """Whether ``path`` (symlinks resolved) lies inside ``folder`` (symlinks resolved)."""
    try:
        root = Path(folder).resolve()
        target = Path(path).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False
    return target == root or root in target.parents


def resolve_music(song_dir: Path, music_tag: str) -> tuple[Optional[Path], Optional[str]]:
    """The audio StepMania plays for #MUSIC (case-insensitive), else its fallback; and a note on how.

    A #MUSIC (or a fallback file, through a symlink) that leaves the song folder is never followed: the
    answer is ``(None, "outside")`` for such a #MUSIC, and a fallback file pointing outside is passed over.
    """
    music_tag = (music_tag or "").strip()
    if music_tag:
        if _leaves(music_tag):
            return None, "outside"
        found = _case_insensitive(song_dir, music_tag)
        if found is not None and not inside(song_dir, found):
            return None, "outside"
        if found is not None and found.is_file():
            return found, None
    # StepMania: no (existing) #MUSIC -> the first .mp3, .oga, .ogg, .wav in the folder (an "intro*" file is
    # passed over when there are others)
    try:
        entries = sorted(p for p in song_dir.iterdir() if p.is_file() and not p.name.startswith(".")
                         and inside(song_dir, p))
    except OSError:
        entries = []
    candidates = [p for ext in STEPMANIA_PLAYS for p in entries if p.suffix.lower() == ext]
    if len(candidates) > 1 and candidates[0].name.lower().startswith("intro"):
        candidates = candidates[1:]
    fallback = candidates[0] if candidates else None
    return fallback, ("fallback" if music_tag else "untagged")


def _leaves(relative: str) -> bool:
    """Whether a #MUSIC value climbs out of its folder by its text alone (absolute, a drive, too many ``..``)."""
    if relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative):
        return True
    depth = 0
    for part in re.split(r"[\\/]+", relative):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _case_insensitive(base: Path, relative: str) -> Optional[Path]:
    path = base
    for part in re.split(r"[\\/]+", relative):
        if part in ("", "."):
            continue
        if part == "..":
            path = path.parent
            continue
        exact = path / part
        if exact.exists():
            path = exact
            continue
        try:
            match = next((p for p in path.iterdir() if p.name.lower() == part.lower()), None)
        except OSError:
            return None
        if match is None:
            return None
        path = match
    return path



def song_music(song_dir: str | os.PathLike, music_name: str | None = None) -> Path | None:
    """The audio of a song folder: what StepMania plays (:func:`resolve_music`), else any audio file (a FLAC
    too: ``make`` converts it).

    ``music_name`` is the #MUSIC value; when None it is read from the folder's simfile (.ssc first).
    Raises :class:`SimfileError` when the #MUSIC leaves the song folder (``../``, an absolute path, a symlink
    pointing out): nothing outside the song folder is read or written for a song.
    """
    song_dir = Path(song_dir)
    try:
        entries = sorted(p for p in song_dir.iterdir() if p.is_file() and not p.name.startswith(".")
                         and inside(song_dir, p))
    except OSError:
        return None
    if music_name is None:
        simfiles = sorted((p for p in entries if p.suffix.lower() in SIMFILE_EXTENSIONS),
                          key=lambda p: p.suffix.lower() != ".ssc")
        music_name = music_tag(simfiles[0]) if simfiles else ""
    found, how = resolve_music(song_dir, music_name)
    if how == "outside":
        raise SimfileError(f"#MUSIC {music_name.strip()!r} is outside the song folder {song_dir}; "
                           "the music must stay inside the song's own folder")
    if found is not None:
        return found
    audio = [p for p in entries if p.suffix.lower() in AUDIO_EXTENSIONS]
    return audio[0] if audio else None
