"""Training configs: JSON files overlaid on the shipped defaults."""

from __future__ import annotations

import json
import os
from pathlib import Path


def merge(base: dict, over: dict) -> dict:
    """``over`` laid recursively onto ``base`` (in place); returns ``base``."""
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def overlay_json(config: dict, path: str | os.PathLike | None) -> dict:
    """``config`` with the JSON object in ``path`` merged onto it (unchanged when ``path`` is None)."""
    from ddc_sm.errors import ConfigError

    if not path:
        return config
    try:
        with open(Path(path), encoding="utf-8") as f:
            user = json.load(f)
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(user, dict):
        raise ConfigError(f"config {path} must hold a JSON object")
    return merge(config, user)
