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
from ddc_sm.simfiles.compat import SIMFILE_EXTENSIONS


def music_tag(simfile_path: str | os.PathLike) -> str:
    """The #MUSIC value of a simfile, read cheaply ('' when absent or unreadable)."""
    try:
        text = Path(simfile_path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    m = re.search(r"#MUSIC:([^;]*);", text, flags=re.IGNORECASE)
    return m.group(1).strip() if m else ""


def resolve_music(song_dir: Path, music_tag: str) -> tuple[Optional[Path], Optional[str]]:
    """The audio StepMania plays for #MUSIC (case-insensitive), else its fallback; and a note on how."""
    music_tag = (music_tag or "").strip()
    if music_tag:
        found = _case_insensitive(song_dir, music_tag)
        if found is not None and found.is_file():
            return found, None
    # StepMania: no (existing) #MUSIC -> the first .mp3, .oga, .ogg, .wav in the folder (an "intro*" file is
    # passed over when there are others)
    try:
        entries = sorted(p for p in song_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    except OSError:
        entries = []
    candidates = [p for ext in STEPMANIA_PLAYS for p in entries if p.suffix.lower() == ext]
    if len(candidates) > 1 and candidates[0].name.lower().startswith("intro"):
        candidates = candidates[1:]
    fallback = candidates[0] if candidates else None
    return fallback, ("fallback" if music_tag else "untagged")


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
    """
    song_dir = Path(song_dir)
    try:
        entries = sorted(p for p in song_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    except OSError:
        return None
    if music_name is None:
        simfiles = sorted((p for p in entries if p.suffix.lower() in SIMFILE_EXTENSIONS),
                          key=lambda p: p.suffix.lower() != ".ssc")
        music_name = music_tag(simfiles[0]) if simfiles else ""
    found, _how = resolve_music(song_dir, music_name)
    if found is not None:
        return found
    audio = [p for p in entries if p.suffix.lower() in AUDIO_EXTENSIONS]
    return audio[0] if audio else None
