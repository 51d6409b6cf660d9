"""The preview page: template.html with preview.css, preview.js and the chart data inlined (no network)."""

from __future__ import annotations

import base64
import html
import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Optional
from urllib.parse import quote

from ddc_sm.errors import UserError
from . import model

GENERATOR = '<meta name="generator" content="ddc-sm preview">'
AUDIO_TYPES = {".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg", ".mp3": "audio/mpeg",
               ".wav": "audio/wav", ".flac": "audio/flac", ".m4a": "audio/mp4", ".aac": "audio/aac"}


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _audio_src(music: Optional[Path], out_path: Path, embed: bool) -> str:
    if music is None:
        return ""
    if embed:
        mime = AUDIO_TYPES.get(music.suffix.lower(), "application/octet-stream")
        return f"data:{mime};base64," + base64.b64encode(music.read_bytes()).decode("ascii")
    try:
        rel = os.path.relpath(music.resolve(), out_path.resolve().parent)
    except ValueError:  # another drive (Windows): an absolute file URL
        return music.resolve().as_uri()
    return quote(Path(rel).as_posix())


def page_data(song: dict, start: int, length: float, audio_name: Optional[str]) -> dict:
    """The JSON the page draws from (see preview.js)."""
    charts = []
    for chart in song["charts"]:
        charts.append({k: chart[k] for k in ("label", "difficulty", "meter", "description", "stats", "timing", "notes",
                                             "density")})
    return {"title": song["title"], "subtitle": song["subtitle"], "artist": song["artist"], "length": length,
            "start": start, "audio": audio_name, "charts": charts,
            "colors": {"quant": model.QUANT_COLORS, "hold": model.HOLD_COLOR, "roll": model.ROLL_COLOR,
                       "mine": model.MINE_COLOR}}


def render(song: dict, start: int, out_path: Path, *, embed_audio: bool = False) -> str:
    """The whole page as text."""
    music = song.get("music")
    if embed_audio and music is None:
        raise UserError(f"{song['simfile']}: no music file found to embed (#MUSIC, or an audio file in its folder)")
    length = model.song_length(song)
    data = page_data(song, start, length, music.name if music else None)
    # JSON inside <script>: "</" must not end the element early
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    src = _audio_src(music, out_path, embed_audio)
    values = {"CSS": _asset("preview.css"), "JS": _asset("preview.js"),
              "TITLE": html.escape(f"{song['title']} · ddc-sm preview"),
              "AUDIO_SRC": f' src="{html.escape(src)}"' if src else "", "DATA": text}
    # one pass, so that text from the simfile can never be taken for a placeholder
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: values[m.group(1)], _asset("template.html"))


def is_ours(path: Path) -> bool:
    """Whether an existing file is a page this module wrote (those are overwritten freely)."""
    try:
        with open(path, "rb") as f:
            head = f.read(600)
    except OSError:
        return False
    return GENERATOR.encode() in head
