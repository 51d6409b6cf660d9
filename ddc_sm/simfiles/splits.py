"""Which songs of ``../shared/data`` trained, validated and test the shipped weights.

Songs are keyed '<pack folder>/<song folder>' (see :attr:`ddc_sm.simfiles.dataset.SongData.key`).  The split is by
song, never by chart: charts of one song share its audio.  The committed file
``ddc_sm/simfiles/split_shared_data.json`` was made once, stratified by pack: each pack's songs ordered by the
SHA-1 of their key, the first 10% (at least one, for packs of 3 songs or more) to ``test``, the next 10% to
``valid``, the rest to ``train``.  Then songs that are the same music (another edit, remix, cut or nightcore of one
song, found by ``python benchmarks/split_groups.py``: normalised titles, with beat-synchronous chroma as the
second opinion) were put in one part: each such group moved wholly to its earliest part in the order train,
valid, test, so songs only ever left ``test`` and ``valid`` (2026-12-03: 4 songs, ``test`` 11 → 8 songs).
The groups are kept in the file (:func:`song_groups`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

SPLIT_FILE = Path(__file__).resolve().parent / "split_shared_data.json"
PARTS = ("train", "valid", "test")


def load_split(path: str | Path | None = None) -> dict[str, list[str]]:
    with open(path or SPLIT_FILE, encoding="utf-8") as f:
        data = json.load(f)
    return {part: list(data[part]) for part in PARTS}


def song_groups(path: str | Path | None = None) -> list[list[str]]:
    """The groups of songs that are the same music (two or more song keys each), as the split file records them."""
    with open(path or SPLIT_FILE, encoding="utf-8") as f:
        return [list(g) for g in json.load(f).get("groups", [])]


def part_of(song_key: str, split: dict[str, list[str]] | None = None) -> str | None:
    """'train', 'valid', 'test', or None when the song is not in the split."""
    split = split or load_split()
    for part in PARTS:
        if song_key in split[part]:
            return part
    return None


def training_part(song_key: str, split: dict[str, list[str]] | None, valid_share: float = 0.1, seed: int = 0) -> str:
    """Where training puts a song: its part in ``split``, else 'valid' for a seeded-hash share, else 'train'.

    Both training commands use this, so a song outside the split file lands in the same part for both models.
    """
    part = part_of(song_key, split) if split is not None else None
    if part is not None:
        return part
    h = int(hashlib.sha1(f"{seed}:{song_key}".encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "valid" if h < valid_share else "train"
