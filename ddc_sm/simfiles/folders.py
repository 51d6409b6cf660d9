"""Finding song folders and simfiles under the paths a user gives (files, song folders, packs, pack roots)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

from ddc_sm.audio.decode import AUDIO_EXTENSIONS
from ddc_sm.errors import UserError
from ddc_sm.simfiles.compat import SIMFILE_EXTENSIONS
from ddc_sm.simfiles.music import inside, music_tag


def find_song_dirs(roots: Iterable[str | os.PathLike] | str | os.PathLike,
                   extensions: tuple[str, ...] = SIMFILE_EXTENSIONS) -> list[Path]:
    """Every folder under the roots (the roots included) holding a file with one of ``extensions`` (simfiles
    by default; ``AUDIO_EXTENSIONS`` finds folders to chart), sorted.  Hidden files and folders are skipped; a
    root that is a file stands for its folder."""
    if isinstance(roots, (str, os.PathLike)):
        roots = [roots]
    found: set[Path] = set()
    for root in roots:
        root = Path(root)
        if root.is_file():
            root = root.parent
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            if any(not f.startswith(".") and f.lower().endswith(extensions) for f in filenames):
                found.add(Path(dirpath))
    return sorted(found)


def collect_simfiles(paths: Iterable[os.PathLike | str]) -> list[Path]:
    """The .sm/.ssc files named or found under the paths (hidden files and folders skipped), sorted by folder.

    Raises :class:`UserError` for a path that does not exist or a file that is not a simfile."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UserError(f"no such file or folder: {path}")
        if path.is_file():
            if path.suffix.lower() not in SIMFILE_EXTENSIONS:
                raise UserError(f"not a simfile (.sm/.ssc): {path}")
            found.append(path)
            continue
        for song_dir in find_song_dirs(path):
            found += sorted(p for p in song_dir.iterdir()
                            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SIMFILE_EXTENSIONS
                            and inside(song_dir, p))  # a symlink out of the folder is not read
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda p: (str(p.parent), p.name.lower()))


def loaded_simfile(simfiles: Sequence[Path]) -> Path:
    """Of one song's simfiles, the one StepMania loads: its .ssc, else the first (its .sm)."""
    return next((p for p in simfiles if p.suffix.lower() == ".ssc"), simfiles[0])


def existing_simfiles(audio_path: str | os.PathLike) -> list[Path]:
    """The .sm/.ssc files in the audio's folder that belong to this audio (same stem or #MUSIC naming it)."""
    audio_path = Path(audio_path)
    folder = audio_path.parent
    if not folder.is_dir():
        return []
    audio_files = [p for p in folder.iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS]
    out = []
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() not in SIMFILE_EXTENSIONS or not p.is_file() or not inside(folder, p):
            continue
        music = music_tag(p)
        names_this_audio = p.stem.lower() == audio_path.stem.lower() or music.lower() == audio_path.name.lower()
        music_unresolved = not music or not any(a.name.lower() == music.lower() for a in audio_files)
        if names_this_audio or (music_unresolved and len(audio_files) == 1):
            out.append(p)
    return out
