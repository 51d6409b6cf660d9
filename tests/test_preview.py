"""ddc-sm preview: the page's embedded note times, the page drawn by headless Chromium, the PNG, the CLI.

The hand-built chart (CHART below): #OFFSET -1 puts beat 0 at 1.0 s; 120 BPM (0.5 s a beat) until beat 8, then
240 BPM (0.25 s a beat); a 0.5 s stop on beat 10.  So beat b is at
    1.0 + 0.5 b            for b <= 8        (beat 8 at 5.0 s)
    5.0 + 0.25 (b - 8)     for 8 <= b <= 10  (beat 10 at 5.5 s, the stop holds it until 6.0 s)
    6.0 + 0.25 (b - 10)    for b > 10.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from ddc_sm.commands.cli import main
from simfile_builders import notes, sm_chart, sm_text, ssc_text

CHART = notes(
    ["1000", "0100", "0010", "0001"],                                   # beats 0-3, quarters
    ["1001", "0100", "2000", "0000", "3000", "00M0", "0001", "0000"],   # beats 4-7, eighths: jump, hold 5-6, mine
    ["4000", "0100", "0000", "3000", "0000", "0000",                    # beats 8-11, twelfths: roll 8-9,
     "0010", "0000", "0000", "0001", "0000", "0000"],                   #   a tap on the stop (10), one after (11)
    ["0000", "1000", "0000", "0000", "0100"] + ["0000"] * 11,           # beats 12-15, sixteenths: 12.25, 13
)
TIMING = {"offset": "-1.000", "bpms": "0.000=120.000,8.000=240.000", "stops": "10.000=0.500"}


def beat_time(b: float) -> float:
    """The timing of CHART, by hand (see the module docstring)."""
    if b <= 8:
        return 1.0 + 0.5 * b
    if b <= 10:
        return 5.0 + 0.25 * (b - 8)
    return 6.0 + 0.25 * (b - 10)


# (beat, column, kind, note value, tail beat) of every note of CHART, read off the rows above
EXPECTED = [
    (0, 0, "tap", 4, None), (1, 1, "tap", 4, None), (2, 2, "tap", 4, None), (3, 3, "tap", 4, None),
    (4, 0, "tap", 4, None), (4, 3, "tap", 4, None), (4.5, 1, "tap", 8, None), (5, 0, "hold", 4, 6),
    (6.5, 2, "mine", 8, None), (7, 3, "tap", 4, None),
    (8, 0, "roll", 4, 9), (Fraction(25, 3), 1, "tap", 12, None), (10, 2, "tap", 4, None), (11, 3, "tap", 4, None),
    (12.25, 0, "tap", 16, None), (13, 1, "tap", 4, None),
]
QUANT_RGB = {4: (0xE8, 0x32, 0x2C), 8: (0x2F, 0x6C, 0xE8), 12: (0xA1, 0x42, 0xE6), 16: (0xF2, 0xD0, 0x24)}


def write_song(folder: Path, *, ssc: bool = False, music: str | None = "song.ogg", audio: bool = True,
               charts=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if audio:
        (folder / "song.ogg").write_bytes(b"OggS not really audio")
    charts = charts or [sm_chart(CHART, difficulty="Hard", meter=7),
                        sm_chart(notes(["1000", "0000", "0000", "0000"]), difficulty="Easy", meter=1)]
    build = ssc_text if ssc else sm_text
    path = folder / ("song.ssc" if ssc else "song.sm")
    path.write_text(build(charts, music=music, **TIMING), encoding="utf-8")
    return path


def page_json(page: Path) -> dict:
    m = re.search(r'<script type="application/json" id="ddc-data">(.*?)</script>', page.read_text(), re.S)
    return json.loads(m.group(1))


def run(*args):
    """The CLI in this process: (exit code, stdout, stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


# ---- (1) the embedded data ----------------------------------------------------------------------------

def test_page_embeds_note_times_from_the_timing(tmp_path):
    from ddc_sm.preview import write_preview

    page = write_preview(write_song(tmp_path / "song"))
    assert page == tmp_path / "song" / "song.preview.html"
    data = page_json(page)
    assert [c["difficulty"] for c in data["charts"]] == ["Easy", "Hard"]  # easiest first
    assert data["start"] == 1  # the hardest is shown first
    hard = data["charts"][1]
    got = [(n["b"], n["c"], n["k"], n["q"], n.get("eb"), n["t"], n.get("et")) for n in hard["notes"]]
    want = [(float(b), c, k, q, None if e is None else float(e), beat_time(b), None if e is None else beat_time(e))
            for b, c, k, q, e in EXPECTED]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[:5] == w[:5]
        assert g[5] == pytest.approx(w[5], abs=1e-6)
        assert (g[6] is None) == (w[6] is None) and (g[6] is None or g[6] == pytest.approx(w[6], abs=1e-6))
    # the beat/time points the page scrolls by: beat 0 at 1 s, the BPM change, the stop reached and left
    assert hard["timing"]["points"] == [[1.0, 0.0], [5.0, 8.0], [5.5, 10.0], [6.0, 10.0]]
    assert hard["timing"]["first_bps"] == 2.0 and hard["timing"]["last_bps"] == 4.0
    assert [(e["beat"], e["time"], e["bpm"]) for e in hard["timing"]["bpms"]] == [(0, 1.0, 120), (8, 5.0, 240)]
    assert [(e["beat"], e["time"], e["seconds"]) for e in hard["timing"]["stops"]] == [(10, 5.5, 0.5)]
    # 14 rows with a step (the jump counts once), 1 jump, 1 hold, 1 roll, 1 mine
    st = hard["stats"]
    assert (st["steps"], st["jumps"], st["hands"], st["holds"], st["rolls"], st["mines"]) == (14, 1, 0, 1, 1, 1)
    assert st["nps_avg"] == round(14 / (6.75 - 1.0), 2)   # first step at 1.0 s, last (beat 13) at 6.75 s
    assert st["nps_peak"] == round(4 / 1.5, 2)            # measure 2: 4 steps in 1 s of beats + the 0.5 s stop
    assert hard["density"][2] == [5.0, 6.5, round(4 / 1.5, 2)]
    assert data["audio"] == "song.ogg"
    assert '<audio id="music" preload="auto" src="song.ogg">' in page.read_text()


def test_ssc_chart_timing_and_difficulty_choice(tmp_path):
    from ddc_sm.preview import write_preview

    own = dict(sm_chart(notes(["1000", "0000", "0000", "0000"], ["0100", "0000", "0000", "0000"]),
                        difficulty="Challenge"), timing={"BPMS": "0.000=60.000", "OFFSET": "0.000"})
    path = write_song(tmp_path / "song", ssc=True, charts=[sm_chart(CHART, difficulty="Heavy"), own])
    data = page_json(write_preview(path, difficulty="HEAVY"))  # old name of Hard, any case
    assert [c["difficulty"] for c in data["charts"]] == ["Hard", "Challenge"] and data["start"] == 0
    assert data["charts"][0]["notes"][1]["t"] == pytest.approx(1.5)         # the song's timing
    assert [n["t"] for n in data["charts"][1]["notes"]] == [0.0, 4.0]        # the chart's own: 60 BPM, offset 0


# ---- (2) the page in a browser ------------------------------------------------------------------------

def chromium() -> str:
    for name in (os.environ.get("DDC_SM_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.skip("no chromium/chromium-browser on PATH (apt-get install chromium); the page was not drawn")


WINDOW = "900,820"


def browse(url: str, *flags: str) -> subprocess.CompletedProcess:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
           "--force-device-scale-factor=1", f"--window-size={WINDOW}", "--virtual-time-budget=3000",
           "--user-data-dir=" + str(Path(url.split("#")[0].removeprefix("file://")).parent / ".chromium"), *flags, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


PROBE = """<script>
(function () {
  const P = window.ddcPreview, out = {layout: P.layout, runs: []};
  for (const [speed, t] of [['x2', 5.75], ['x2', 3.75], ['C240', 3.75]]) {
    P.setSpeed(speed); P.seek(t);
    out.runs.push({speed: speed, t: P.time(), beat: P.beatAt(t), notes: P.notePositions()});
  }
  const pre = document.createElement('pre'); pre.id = 'ddc-result'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
</body>"""


def test_browser_draws_arrows_where_the_timing_puts_them(tmp_path):
    from ddc_sm.preview import write_preview

    chromium()
    page = write_preview(write_song(tmp_path / "song"))
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text().replace("</body>", PROBE, 1))
    proc = browse(probe.as_uri(), "--dump-dom")
    m = re.search(r'<pre id="ddc-result">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"the page wrote no result: {proc.stderr[-2000:]}"
    result = json.loads(html.unescape(m.group(1)))
    ry, px_per_beat = result["layout"]["receptorY"], result["layout"]["arrowSize"]
    assert (ry, px_per_beat) == (96, 64)
    # the beat on screen: during the stop (5.5-6.0 s) the chart stands still on beat 10; at 3.75 s, 120 BPM
    assert [r["beat"] for r in result["runs"]] == pytest.approx([10.0, 5.5, 5.5])
    for run_ in result["runs"]:
        t, beat = run_["t"], run_["beat"]
        if run_["speed"] == "x2":    # x-mod: 2 x 64 px per beat below the receptors
            y_of = lambda b: ry + (float(b) - beat) * 2 * px_per_beat  # noqa: E731
        else:                        # C240: by time, 240 beats of 64 px a minute
            y_of = lambda b: ry + (beat_time(b) - t) * 240 / 60 * px_per_beat  # noqa: E731
        got = {(n["b"], n["c"]): n for n in run_["notes"]}
        for b, c, kind, _q, tail in EXPECTED:
            key, y = (float(b), c), y_of(b)
            if tail is not None and beat_time(b) <= t < beat_time(tail):   # being held: head on the receptor
                assert got[key]["y"] == pytest.approx(ry) and got[key]["tailY"] == pytest.approx(y_of(tail))
            elif beat_time(b) <= t and kind != "mine":                     # hit (autoplay): gone
                assert key not in got, f"{key} was hit at {beat_time(b)} s but is still drawn at {t} s"
            elif -64 <= y <= 600:
                assert key in got, f"note {key} should be on screen at y={y} ({run_['speed']}, t={t})"
                assert got[key]["y"] == pytest.approx(y, abs=0.01)
                if tail is not None:
                    assert got[key]["tailY"] == pytest.approx(y_of(tail), abs=0.01)
    # the first run (t = 5.75 s, x2): beat 11, 12.25 and 13 are next, at 1, 2.25 and 3 beats below the receptors
    first = {(n["b"], n["c"]): n["y"] for n in result["runs"][0]["notes"]}
    assert first[(11.0, 3)] == pytest.approx(96 + 128) and first[(12.25, 0)] == pytest.approx(96 + 288)

    # a screenshot of the same moment (opened with #t=5.75): arrows in their colours where notePositions says
    from PIL import Image

    shot = tmp_path / "shot.png"
    browse(page.as_uri() + "#t=5.75&speed=x2", f"--screenshot={shot}")
    img = Image.open(shot).convert("RGB")
    assert len(img.getcolors(maxcolors=1 << 20)) > 50, "the screenshot looks blank"
    positions = {(n["b"], n["c"]): n for n in result["runs"][0]["notes"]}

    def near(x, y, rgb, r=6, tol=40):
        return any(all(abs(a - b) <= tol for a, b in zip(img.getpixel((x + dx, y + dy)), rgb))
                   for dx in range(-r, r + 1) for dy in range(-r, r + 1))

    for key, quant in (((11.0, 3), 4), ((12.25, 0), 16), ((13.0, 1), 4)):
        n = positions[key]
        assert near(round(n["pageX"]), round(n["pageY"]), QUANT_RGB[quant]), f"no {quant}th colour at {key}"
    n = positions[(11.0, 3)]   # lane 0 beside the red beat-11 arrow is empty: no arrow colour there
    assert not near(round(n["pageX"]) - 3 * 64, round(n["pageY"]), QUANT_RGB[4], r=3)


# ---- (3) the PNG --------------------------------------------------------------------------------------

def test_png_has_notes_at_their_rows(tmp_path):
    from PIL import Image

    from ddc_sm.preview import png, write_preview

    long_easy = notes(*([["1000", "0000", "0000", "0000"]] * 7 + [["0001", "0000", "0000", "0000"]]))
    path = write_song(tmp_path / "song", charts=[sm_chart(CHART, difficulty="Hard"),
                                                  sm_chart(long_easy, difficulty="Easy")])
    out = write_preview(path, png=True)
    assert out == tmp_path / "song" / "song.hard.preview.png"
    img = Image.open(out).convert("RGB")
    # 4 measures: one column of them; a column is a gutter, 4 lanes and a gutter
    col_w = png.LEFT_GUTTER + 4 * png.LANE + png.RIGHT_GUTTER
    assert img.size == (2 * png.MARGIN + col_w, png.HEADER + 4 * 4 * png.BEAT_PX + png.MARGIN)

    def at(beat, lane, column=0):
        x = png.MARGIN + column * col_w + png.LEFT_GUTTER + lane * png.LANE + png.LANE // 2
        y = png.HEADER + (beat - 4 * png.MEASURES_PER_COLUMN * column) * png.BEAT_PX
        return img.getpixel((x, round(y)))

    for b, c, kind, quant, _tail in EXPECTED:
        if kind != "mine":
            assert at(b, c) == QUANT_RGB[quant], (b, c)
    assert at(5.5, 0) == (0x3F, 0xBF, 0x4A)   # inside the hold's body (beats 5-6)
    assert at(2.5, 0) == png.LANE_BG        # nothing in lane 0 between beats 2 and 3
    assert at(6.5, 2) != png.LANE_BG        # the mine

    # 8 measures make two columns of 6: the last note (measure 7, beat 28) is in the second column's 2nd measure
    out = write_preview(path, png=True, difficulty="easy", out_path=tmp_path / "easy.png")
    img = Image.open(out).convert("RGB")
    assert img.size == (2 * png.MARGIN + 2 * col_w, png.HEADER + 6 * 4 * png.BEAT_PX + png.MARGIN)
    assert at(28, 3, column=1) == QUANT_RGB[4] and at(24, 0, column=1) == QUANT_RGB[4]
    assert at(0, 0) == QUANT_RGB[4] and at(28.5, 0, column=1) == png.LANE_BG

    # leading empty measures are left out: notes in measures 3 and 4 only make a 2-measure image from beat 12
    late = notes(*([["0000"] * 4] * 3 + [["1000", "0000", "0000", "0000"], ["0100", "0000", "0000", "0000"]]))
    path = write_song(tmp_path / "late", charts=[sm_chart(late, difficulty="Medium")])
    img = Image.open(write_preview(path, png=True)).convert("RGB")
    assert img.size == (2 * png.MARGIN + col_w, png.HEADER + 2 * 4 * png.BEAT_PX + png.MARGIN)
    assert at(0, 0) == QUANT_RGB[4] and at(4, 1) == QUANT_RGB[4]   # beats 12 and 16, drawn at 0 and 4


# ---- the command ----------------------------------------------------------------------------------------

def test_cli_writes_beside_the_simfile_and_overwrites_only_its_own(tmp_path, monkeypatch):
    path = write_song(tmp_path / "song")
    monkeypatch.chdir(tmp_path)
    code, out, err = run("preview", path, "-d", "easy")
    assert code == 0 and out.strip() == str(tmp_path / "song" / "song.preview.html")
    assert page_json(tmp_path / "song" / "song.preview.html")["start"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song"]   # nothing written outside the song folder
    assert run("preview", path)[0] == 0                               # our own page: overwritten
    foreign = tmp_path / "mine.html"
    foreign.write_text("<html>my notes</html>")
    code, _, err = run("preview", path, "-o", foreign)
    assert code == 2 and err.startswith("error: ") and "not a ddc-sm preview" in err
    assert foreign.read_text() == "<html>my notes</html>"


def test_cli_audio_relative_to_the_page_or_embedded(tmp_path):
    path = write_song(tmp_path / "song", music="SONG.OGG")   # StepMania matches #MUSIC case-insensitively
    code, _, _ = run("preview", path, "-o", tmp_path / "pages" / "p.html")
    assert code == 0
    assert 'src="../song/song.ogg"' in (tmp_path / "pages" / "p.html").read_text()
    code, _, _ = run("preview", path, "--embed-audio", "-o", tmp_path / "e.html")
    src = re.search(r'src="data:audio/ogg;base64,([^"]+)"', (tmp_path / "e.html").read_text()).group(1)
    assert base64.b64decode(src) == b"OggS not really audio"
    # no #MUSIC: any audio file in the folder, as StepMania does; none at all: a warning, a silent page
    path = write_song(tmp_path / "other", music=None)
    assert run("preview", path)[0] == 0 and 'src="song.ogg"' in (tmp_path / "other" / "song.preview.html").read_text()
    path = write_song(tmp_path / "silent", audio=False)
    code, _, err = run("preview", path)
    assert code == 0 and "no music file found" in err
    code, _, err = run("preview", path, "--embed-audio")
    assert code == 2 and "no music file found to embed" in err


@pytest.mark.parametrize("case, message", [
    ("missing", "no such file"),
    ("garbage", "cannot read simfile"),
    ("double", "no readable dance-single chart"),
    ("unknown", "unknown difficulty 'extreme'"),
    ("absent", "has no dance-single Challenge chart; it has Easy 1, Hard 7"),
    ("folder", "not a simfile"),
])
def test_cli_errors_are_one_line(tmp_path, case, message):
    path = write_song(tmp_path / "song")
    args = [path]
    if case == "missing":
        args = [tmp_path / "nope.sm"]
    elif case == "garbage":
        path.write_bytes(b"\x00\xff#NOTES:;;;\n")
    elif case == "double":
        path.write_text(sm_text([sm_chart("00000000\n00000000\n00000000\n10000000\n", stepstype="dance-double")]))
    elif case == "unknown":
        args += ["-d", "extreme"]
    elif case == "absent":
        args += ["-d", "challenge"]
    elif case == "folder":
        args = [tmp_path / "song"]
    code, out, err = run("preview", *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err


def test_cli_error_has_no_traceback_and_import_stays_light(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run([sys.executable, "-m", "ddc_sm", "preview", str(tmp_path / "x.ssc")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: {tmp_path / 'x.ssc'}: no such file"
    code = ("import sys, ddc_sm.commands.cli, ddc_sm.preview; "
            "print(sorted(m for m in ('torch', 'librosa', 'PIL', 'simfile', 'numpy') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.stdout.strip() == "[]", proc.stderr
