"""Saving and loading trained model bundles (weights + config + normalisation + extras).

A bundle is one ``.pt`` file holding a dict: ``{"kind", "config", "state_dict", "stats", "extra"}``.
The package ships ``ddc_sm/weights/placement.pt`` and ``ddc_sm/weights/selection.pt``; ``--weights DIR``
points at a folder holding files of the same names.
"""

from __future__ import annotations

import os
from pathlib import Path

from ddc_sm.errors import WeightsError

SHIPPED_DIR = Path(__file__).resolve().parent
BUNDLE_FILES = {"placement": "placement.pt", "selection": "selection.pt", "critic": "critic.pt"}


def bundle_path(kind: str, weights_dir: str | os.PathLike | None = None) -> Path:
    directory = Path(weights_dir) if weights_dir else SHIPPED_DIR
    path = directory / BUNDLE_FILES[kind]
    if not path.exists():
        where = "the package's shipped weights" if weights_dir is None else f"--weights {directory}"
        raise WeightsError(f"no {kind} model found in {where} (expected {path})")
    return path


def save_bundle(path: str | os.PathLike, kind: str, config: dict, state_dict: dict, stats: dict | None = None,
                extra: dict | None = None, *, half: bool = True) -> Path:
    """Write a bundle; float tensors are stored as float16 when ``half`` (they are small enough to commit)."""
    import torch

    sd = {k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu())
          for k, v in state_dict.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"kind": kind, "config": config, "state_dict": sd, "stats": stats or {}, "extra": extra or {}}, path)
    return path


def load_bundle(kind: str, weights_dir: str | os.PathLike | None = None, *, path: str | os.PathLike | None = None) -> dict:
    """Load a bundle (state_dict tensors returned as float32)."""
    import torch

    path = Path(path) if path else bundle_path(kind, weights_dir)
    try:
        bundle = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise WeightsError(f"cannot load {kind} model from {path}: {exc}") from exc
    if bundle.get("kind") != kind:
        raise WeightsError(f"{path} holds a {bundle.get('kind')!r} model, expected {kind!r}")
    bundle["state_dict"] = {k: (v.float() if v.is_floating_point() else v) for k, v in bundle["state_dict"].items()}
    return bundle
