"""On-disk cache of per-song audio features, so training and evaluation decode each song once.

The cache lives in ``$DDC_SM_CACHE`` (default ``~/.cache/ddc_sm``) and is keyed by the audio file's
absolute path, size and modification time and the feature kind, so a changed file is recomputed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

FEATURE_VERSION = 1
KINDS = ("placement", "selection")


def cache_dir() -> Path:
    return Path(os.environ.get("DDC_SM_CACHE") or Path.home() / ".cache" / "ddc_sm")


def cache_key(audio_path: Path, kind: str, version: int = FEATURE_VERSION) -> str:
    """The cache's name for what is computed from ``audio_path`` (its absolute path, size and modification time),
    of ``kind`` at ``version``: a changed file or a new version is a new name."""
    st = audio_path.stat()
    ident = f"{audio_path.resolve()}|{st.st_size}|{int(st.st_mtime)}|{kind}|v{version}"
    return hashlib.sha1(ident.encode("utf-8")).hexdigest()


def compute_features(audio_path: str | os.PathLike, kind: str) -> np.ndarray:
    """Raw (un-normalised) features of one audio file: (80, 3, T) for placement, (100, T) for selection."""
    from ddc_sm.audio.decode import load_audio
    from ddc_sm.audio.features import PLACEMENT_SR, SELECTION_SR, placement_features, selection_features

    if kind == "placement":
        return placement_features(load_audio(audio_path, PLACEMENT_SR, check=False).samples)
    if kind == "selection":
        return selection_features(load_audio(audio_path, SELECTION_SR, check=False).samples)
    raise ValueError(f"unknown feature kind {kind!r}; expected one of {KINDS}")


def cached_features(audio_path: str | os.PathLike, kind: str, *, directory: Path | None = None) -> np.ndarray:
    """Features of ``audio_path`` from the cache, computing and storing them on a miss."""
    audio_path = Path(audio_path)
    directory = directory or cache_dir()
    target = directory / kind / f"{cache_key(audio_path, kind)}.npy"
    if target.exists():
        try:
            return np.load(target)
        except Exception:
            target.unlink(missing_ok=True)
    feats = compute_features(audio_path, kind)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, feats)
    os.replace(tmp, target)
    return feats
