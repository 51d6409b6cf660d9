"""A static image of a whole chart: columns of measures side by side, time going down (Pillow).

Layout (pixels): a header of HEADER rows, then columns of MEASURES_PER_COLUMN measures each, COLUMN_WIDTH
wide: LEFT_GUTTER for measure numbers, four lanes of LANE, RIGHT_GUTTER for BPM changes and stops.  A beat
is BEAT_PX tall.  The image starts at the first measure with a note, ``f`` (leading empty measures are left
out); beat ``b`` of measure ``m = b // 4`` sits in column ``k = (m - f) // MEASURES_PER_COLUMN`` at
``y = HEADER + (b - 4 * (f + MEASURES_PER_COLUMN * k)) * BEAT_PX``.  Arrows are centred on their beat.
"""

from __future__ import annotations

import math
from pathlib import Path

from . import model

MARGIN = 10
HEADER = 60
LANE = 20
BEAT_PX = 32
MEASURE_PX = 4 * BEAT_PX
MEASURES_PER_COLUMN = 6
LEFT_GUTTER = 28
RIGHT_GUTTER = 44
COLUMN_WIDTH = LEFT_GUTTER + 4 * LANE + RIGHT_GUTTER
SOFTWARE = "ddc-sm preview"

BACKGROUND = (16, 17, 20)
LANE_BG = (26, 28, 34)
MEASURE_LINE = (120, 120, 120)
BEAT_LINE = (48, 48, 52)
TEXT = (230, 230, 230)
DIM = (140, 140, 150)
BPM_TEXT = (89, 217, 122)
STOP_TEXT = (255, 107, 107)
ROTATION = (-math.pi / 2, math.pi, 0.0, math.pi / 2)  # left, down, up, right; the shape points up
ARROW_SHAPE = ((0, -0.48), (0.48, 0), (0.2, 0), (0.2, 0.44), (-0.2, 0.44), (-0.2, 0), (-0.48, 0))


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def measure_range(chart: dict) -> tuple[int, int]:
    """(first measure drawn, how many): from the first note's measure to the last note's (or tail's)."""
    beats = [n["b"] for n in chart["notes"] if n["b"] >= 0]
    if not beats:
        return 0, 1
    first = int(min(beats) // 4)
    last = int(max(max(beats), max(n.get("eb", 0.0) for n in chart["notes"])) // 4)
    return first, last - first + 1


def image_size(n_measures: int) -> tuple[int, int]:
    columns = math.ceil(n_measures / MEASURES_PER_COLUMN)
    rows = min(n_measures, MEASURES_PER_COLUMN)
    return 2 * MARGIN + columns * COLUMN_WIDTH, HEADER + rows * MEASURE_PX + MARGIN


def position(beat: float, column: int, first_measure: int = 0) -> tuple[float, float]:
    """(x, y) of the centre of a note at ``beat`` in lane ``column``, the image starting at ``first_measure``."""
    measure_column = (int(beat // 4) - first_measure) // MEASURES_PER_COLUMN
    x = MARGIN + measure_column * COLUMN_WIDTH + LEFT_GUTTER + column * LANE + LANE / 2
    y = HEADER + (beat - 4 * (first_measure + MEASURES_PER_COLUMN * measure_column)) * BEAT_PX
    return x, y


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def _header_lines(song: dict, chart: dict) -> tuple[str, str]:
    st, bpms = chart["stats"], [e["bpm"] for e in chart["timing"]["bpms"]]
    bpm = f"{min(bpms):g}" if min(bpms) == max(bpms) else f"{min(bpms):g}-{max(bpms):g}"
    title = song["title"] + (f" {song['subtitle']}" if song["subtitle"] else "")
    title += f" - {song['artist']}" if song["artist"] else ""
    return (f"{title}   [{chart['label']}]",
            f"{st['steps']} steps, {st['jumps']} jumps, {st['holds']} holds, {st['rolls']} rolls, {st['mines']} mines;"
            f"  NPS {st['nps_avg']:g} avg, {st['nps_peak']:g} peak;  BPM {bpm}")


def render(song: dict, chart: dict):
    """The chart as a PIL image."""
    from PIL import Image, ImageDraw

    first, n_measures = measure_range(chart)
    at = lambda beat, lane: position(beat, lane, first)  # noqa: E731
    width, height = image_size(n_measures)
    img = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(img)
    small, big = _font(11), _font(15)
    line1, line2 = _header_lines(song, chart)
    draw.text((MARGIN, 8), line1, fill=TEXT, font=big)
    draw.text((MARGIN, 30), line2, fill=DIM, font=small)

    lanes_w = 4 * LANE
    for m in range(first, first + n_measures):  # lanes, beat and measure lines, measure numbers
        x0, y0 = at(4 * m, 0)
        x0 -= LANE / 2
        draw.rectangle([x0, y0, x0 + lanes_w - 1, y0 + MEASURE_PX - 1], fill=LANE_BG)
        for k in range(1, 4):
            draw.line([x0, y0 + k * BEAT_PX, x0 + lanes_w - 1, y0 + k * BEAT_PX], fill=BEAT_LINE)
        draw.line([x0, y0, x0 + lanes_w - 1, y0], fill=MEASURE_LINE)
        draw.text((x0 - 4, y0), str(m), fill=DIM, font=small, anchor="rm")
    for events, color, label in ((chart["timing"]["bpms"], BPM_TEXT, lambda e: f"{e['bpm']:g}"),
                                 (chart["timing"]["stops"], STOP_TEXT, lambda e: f"{e['seconds']:g}s")):
        for e in events:
            if not 4 * first <= e["beat"] < 4 * (first + n_measures):
                continue
            x, y = at(e["beat"], 3)
            draw.line([x - 3 * LANE - LANE / 2, y, x + LANE / 2 + 3, y], fill=color)
            draw.text((x + LANE / 2 + 5, y), label(e), fill=color, font=small, anchor="lm")

    colors = {q: _rgb(c) for q, c in model.QUANT_COLORS.items()}
    notes = [n for n in chart["notes"] if n["b"] >= 0]
    for n in notes:  # hold and roll bodies, split where they cross into the next column of measures
        if "eb" in n:
            _body(draw, n, _rgb(model.ROLL_COLOR if n["k"] == "roll" else model.HOLD_COLOR), first)
    for n in reversed(notes):  # earlier notes on top
        x, y = at(n["b"], n["c"])
        if n["k"] == "mine":
            r = LANE * 0.32
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(26, 26, 26), outline=_rgb(model.MINE_COLOR), width=3)
            continue
        fill = colors.get(n["q"], colors[192])
        if n["k"] == "fake" or n.get("fake"):
            fill = tuple((c + b) // 2 for c, b in zip(fill, LANE_BG))
        draw.polygon(_arrow(n["c"], x, y, LANE * 0.95), fill=fill,
                     outline=(255, 255, 255) if n["k"] == "lift" else (0, 0, 0))
    return img


def _arrow(column: int, x: float, y: float, size: float) -> list[tuple[float, float]]:
    a = ROTATION[column]
    ca, sa = math.cos(a), math.sin(a)
    return [(x + size * (px * ca - py * sa), y + size * (px * sa + py * ca)) for px, py in ARROW_SHAPE]


def _body(draw, note: dict, color, first: int) -> None:
    half = LANE * 0.28
    beat, end = note["b"], note["eb"]
    while beat < end:
        column_end = 4 * (first + ((int(beat // 4) - first) // MEASURES_PER_COLUMN + 1) * MEASURES_PER_COLUMN)
        stop = min(end, column_end)
        x, y0 = position(beat, note["c"], first)
        _, y1 = position(stop - 1e-9, note["c"], first) if stop == column_end else position(stop, note["c"], first)
        draw.rectangle([x - half, y0, x + half, y1], fill=color)
        if note["k"] == "roll":
            for s in range(int(y0) + 4, int(y1), 10):
                draw.line([x - half, s, x + half, s], fill=(60, 45, 10), width=3)
        if stop == end:
            draw.ellipse([x - half, y1 - half, x + half, y1 + half], fill=color)
        beat = stop


def write_png(song: dict, chart: dict, out_path: Path) -> Path:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", SOFTWARE)
    info.add_text("Title", f"{song['title']} [{chart['label']}]")
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    render(song, chart).save(tmp, format="PNG", pnginfo=info)
    tmp.replace(out_path)
    return out_path


def is_ours(path: Path) -> bool:
    """Whether an existing file is an image this module wrote (those are overwritten freely)."""
    try:
        from PIL import Image

        with Image.open(path) as img:
            return img.format == "PNG" and img.info.get("Software") == SOFTWARE
    except Exception:
        return False
