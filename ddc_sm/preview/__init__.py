"""``ddc-sm preview``: a simfile's dance-single charts as a self-contained HTML page or a PNG image.

Public API (for the ``preview`` command, and for make/pack/eval to call after writing a chart):

    write_preview(simfile_path, out_path=None, *, difficulty=None, embed_audio=False, png=False, log=None) -> Path

Nothing heavy is imported here: ``simfile`` and Pillow are imported when a preview is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from ddc_sm.errors import UserError

__all__ = ["write_preview", "default_output", "load_song"]


def default_output(simfile_path, *, png: bool = False, difficulty: Optional[str] = None) -> Path:
    """Where a preview goes by default: beside the simfile, ``song.preview.html`` or ``song.hard.preview.png``."""
    path = Path(simfile_path)
    if png:
        return path.with_name(f"{path.stem}.{(difficulty or 'chart').lower()}.preview.png")
    return path.with_name(f"{path.stem}.preview.html")


def load_song(simfile_path, *, log: Optional[Callable[[str], None]] = None) -> dict:
    """The preview data of a simfile (see ``ddc_sm.preview.model.load_song``)."""
    from .model import load_song as _load

    return _load(simfile_path, log=log)


def write_preview(simfile_path, out_path=None, *, difficulty: Optional[str] = None, embed_audio: bool = False,
                  png: bool = False, log: Optional[Callable[[str], None]] = None) -> Path:
    """Write a preview of a .sm/.ssc and return its path.

    - HTML (default): one self-contained page with every dance-single chart of the file (a switcher),
      ``difficulty`` chosen first (default: the hardest).  The music is referenced relative to the page, found
      the way StepMania finds it; ``embed_audio=True`` puts it in the page (base64) instead.
    - ``png=True``: an image of one chart, ``difficulty`` (default: the hardest); embed_audio is ignored.
    - ``out_path`` None: beside the simfile (``default_output``); nothing is written anywhere else.
      An existing file there is overwritten only when it is a preview that ddc-sm wrote.
    - Problems (missing/unreadable file, no dance-single chart, unknown or absent difficulty, no music to
      embed, a file in the way) raise ``UserError``; warnings (a chart left out, no music) go to ``log``.
    """
    from . import model

    simfile_path = Path(simfile_path)
    song = model.load_song(simfile_path, log=log)
    start = model.pick_chart(song, difficulty)
    chart = song["charts"][start]
    out = Path(out_path) if out_path is not None else default_output(simfile_path, png=png,
                                                                     difficulty=chart["difficulty"])
    if out.is_dir():
        raise UserError(f"{out} is a folder; give a file name with -o")
    if png:
        from . import png as png_module

        _check_target(out, png_module.is_ours)
        out.parent.mkdir(parents=True, exist_ok=True)
        return png_module.write_png(song, chart, out)

    from . import html

    if song["music"] is None and not embed_audio and log:
        log(f"warning: {simfile_path.name}: no music file found; the page plays without sound")
    _check_target(out, html.is_ours)
    page = html.render(song, start, out, embed_audio=embed_audio)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


def _check_target(out: Path, is_ours: Callable[[Path], bool]) -> None:
    if out.exists() and not is_ours(out):
        raise UserError(f"{out} exists and is not a ddc-sm preview; not overwriting it (choose another -o)")
