"""Helpers for tests: short synthesised audio and hand-written .sm/.ssc text, broken on purpose where needed.

Default song: 120 BPM, #OFFSET 0 (beat 0 at 0 s), so a measure lasts 2 s; the default audio lasts 10 s.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterable, Sequence

SR = 22050


@functools.lru_cache(maxsize=16)
def _track(seconds: float, bpm: float):
    from ddc_sm.audio.synth import drum_track

    return drum_track(bpm, 0.0, seconds, sample_rate=SR)


def write_audio(path: Path, seconds: float = 10.0, bpm: float = 120.0) -> Path:
    """A drum loop (ddc_sm.audio.synth) written as .ogg/.wav/.flac by the file's suffix."""
    import soundfile

    track = _track(float(seconds), float(bpm))
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".ogg": ("OGG", "VORBIS"), ".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16")}[path.suffix.lower()]
    soundfile.write(str(path), track.samples, track.sample_rate, format=fmt[0], subtype=fmt[1])
    return path


def notes(*measures: Sequence[str]) -> str:
    """Measures (each a list of rows) as note data."""
    return "\n,\n".join("\n".join(rows) for rows in measures) + "\n"


def quarter_measure(row: str = "1000", width: int = 4) -> list[str]:
    return [row] + ["0" * width] * 3


def simple_notes(n_measures: int = 4) -> str:
    """A clean dance-single chart: one tap per beat, cycling columns, with one hold in measure 1."""
    measures = []
    arrows = ["1000", "0100", "0010", "0001"]
    for m in range(n_measures):
        if m == 1:
            measures.append(["2000", "0100", "3010", "0001"])
        else:
            measures.append([arrows[(m + k) % 4] for k in range(4)])
    return notes(*measures)


def sm_chart(note_data: str, stepstype: str = "dance-single", difficulty: str = "Hard", meter="5",
             description: str = "") -> dict:
    return {"stepstype": stepstype, "difficulty": difficulty, "meter": str(meter), "description": description,
            "notes": note_data}


def _header(music, offset, bpms, samplestart, samplelength, stops, extra) -> list[str]:
    lines = ["#TITLE:Test Song;", "#ARTIST:Tester;"]
    if music is not None:
        lines.append(f"#MUSIC:{music};")
    lines += [f"#OFFSET:{offset};", f"#SAMPLESTART:{samplestart};", f"#SAMPLELENGTH:{samplelength};",
              f"#BPMS:{bpms};", f"#STOPS:{stops};"]
    return lines + list(extra)


def sm_text(charts: Iterable[dict], *, music="song.ogg", offset="0.000", bpms="0.000=120.000", samplestart="2.000",
            samplelength="5.000", stops="", extra: Sequence[str] = ()) -> str:
    lines = _header(music, offset, bpms, samplestart, samplelength, stops, extra)
    for c in charts:
        lines += ["", "//---------------" + c["stepstype"] + " - ----------------", "#NOTES:",
                  f"     {c['stepstype']}:", f"     {c['description']}:", f"     {c['difficulty']}:",
                  f"     {c['meter']}:", "     0,0,0,0,0:", c["notes"].rstrip("\n") + "\n;"]
    return "\n".join(lines) + "\n"


def ssc_text(charts: Iterable[dict], *, music="song.ogg", offset="0.000", bpms="0.000=120.000", samplestart="2.000",
             samplelength="5.000", stops="", extra: Sequence[str] = ()) -> str:
    """An .ssc (#VERSION:0.83); a chart dict may carry 'timing': {'BPMS': ..., 'OFFSET': ...} of its own."""
    lines = ["#VERSION:0.83;"] + _header(music, offset, bpms, samplestart, samplelength, stops, extra)
    for c in charts:
        lines += ["", "#NOTEDATA:;", f"#STEPSTYPE:{c['stepstype']};", f"#DESCRIPTION:{c['description']};",
                  f"#DIFFICULTY:{c['difficulty']};", f"#METER:{c['meter']};", "#RADARVALUES:0,0,0,0,0;"]
        for key, value in (c.get("timing") or {}).items():
            lines.append(f"#{key}:{value};")
        lines += ["#NOTES:", c["notes"].rstrip("\n") + "\n;"]
    return "\n".join(lines) + "\n"


def make_song(folder: Path, *, sm: str | None = None, ssc: str | None = None, name: str = "song",
              audio: str | None = "song.ogg", seconds: float = 10.0) -> Path:
    """A song folder with the given simfile texts and a synthesised audio file; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    if audio:
        write_audio(folder / audio, seconds)
    if sm is not None:
        (folder / f"{name}.sm").write_text(sm, encoding="utf-8")
    if ssc is not None:
        (folder / f"{name}.ssc").write_text(ssc, encoding="utf-8")
    return folder


def clean_sm(**kw) -> str:
    return sm_text([sm_chart(simple_notes(), difficulty=d, meter=m) for d, m in (("Easy", 2), ("Hard", 6))], **kw)


def clean_ssc(**kw) -> str:
    return ssc_text([sm_chart(simple_notes(), difficulty=d, meter=m) for d, m in (("Easy", 2), ("Hard", 6))], **kw)


# ---------------------------------------------------------------------------------------------------------
# a fast stand-in for ddc_sm.pipeline.make.make_charts (module level, so worker processes can import it)


class FakeResult:
    def __init__(self, written, skipped, charts):
        self.written, self.skipped, self.charts = written, skipped, charts


def fake_make_charts(audio_path, difficulties, *, force=False, add=False, formats=("sm", "ssc"), **_kw):
    """Writes clean .sm/.ssc charts at once, with the real rules for existing charts.

    Audio whose name starts with 'bad' raises AudioError; 'crash' raises a plain RuntimeError;
    'die' writes the .sm and then raises SystemExit (a process killed between the two files)."""
    from ddc_sm.errors import AudioError, ChartExistsError
    from ddc_sm.simfiles.folders import existing_simfiles

    audio_path = Path(audio_path)
    if audio_path.name.startswith("bad"):
        raise AudioError(f"cannot decode audio file {audio_path}")
    if audio_path.name.startswith("crash"):
        raise RuntimeError("unexpected failure")
    existing = existing_simfiles(audio_path)
    if existing and not force and not add:
        raise ChartExistsError(f"{existing[0].name} already exists")
    if add and existing:
        written, skipped = [], []
        import re

        for p in existing:
            text = p.read_text(encoding="utf-8")
            have = set(re.findall(r"(?:#DIFFICULTY:|^     )(\w+)[:;]", text, flags=re.M))
            missing = [d for d in difficulties if d not in have]
            skipped = [d for d in difficulties if d in have]
            if missing:
                charts = [sm_chart(simple_notes(), difficulty=d) for d in missing]
                build = ssc_text if p.suffix == ".ssc" else sm_text
                body = build(charts, music=audio_path.name)
                # append the new charts' blocks to the file
                blocks = body.split("\n\n", 1)[1] if "\n\n" in body else ""
                p.write_text(text.rstrip("\n") + "\n\n" + blocks, encoding="utf-8")
                written.append(p)
        return FakeResult(written, skipped, [])
    charts = [sm_chart(simple_notes(), difficulty=d) for d in difficulties]
    written = []
    for kind in formats:
        target = audio_path.with_suffix(f".{kind}")
        build = ssc_text if kind == "ssc" else sm_text
        tmp = target.with_name(f".{target.stem}.tmp")
        tmp.write_text(build(charts, music=audio_path.name), encoding="utf-8")
        tmp.replace(target)
        written.append(target)
        if kind == "sm" and audio_path.name.startswith("die") and not force:
            raise SystemExit("killed")
    return FakeResult(written, [], charts)


def broken_make_charts(audio_path, difficulties, **_kw):
    """Writes a chart whose hold is never closed (to see pack's own check catch it)."""
    audio_path = Path(audio_path)
    target = audio_path.with_suffix(".sm")
    target.write_text(sm_text([sm_chart(notes(["2000", "0000", "0000", "0000"]), difficulty=d) for d in difficulties],
                              music=audio_path.name), encoding="utf-8")
    return FakeResult([target], [], [])


def segv_make_charts(audio_path, difficulties, **kw):
    """Like fake_make_charts, but audio named 'segv*' kills its process with SIGSEGV (a native crash)."""
    import os
    import signal

    if Path(audio_path).name.startswith("segv"):
        os.kill(os.getpid(), signal.SIGSEGV)
    return fake_make_charts(audio_path, difficulties, **kw)
