"""Fuzz ``ddc-sm make``: broken audio files, hostile existing charts and bad option values, each run in a
subprocess under a time and memory limit with the shipped weights on short audio.  Prints cases tried /
crashes / over-limit / wrote-outside.

    OMP_NUM_THREADS=1 python benchmarks/fuzz_make.py [--timeout S] [--memory-mb M]

A *crash* is a traceback, a signal, an exit code other than 0/1/2, or exit 2 without a one-line ``error:``;
*wrote-outside* is any file created or changed outside the song's folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def limit(memory_mb: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    return apply


def tree(folder: Path, skip: Path) -> dict:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file() and skip not in p.parents}


def cases(base: Path):
    """(name, song folder, argv after 'make')."""
    import numpy as np
    import soundfile

    from ddc_sm.audio.synth import drum_track

    sr = 22050
    good = drum_track(128.0, 0.0, 8.0, sample_rate=sr).samples
    out = []

    def song(name: str, files: dict) -> Path:
        d = base / name
        d.mkdir(parents=True)
        for fname, content in files.items():
            p = d / fname
            if isinstance(content, np.ndarray):  # float WAV keeps NaN/inf (PCM_16 would clip them to +-1)
                soundfile.write(str(p), content, sr, subtype="FLOAT" if p.suffix == ".wav" else None)
            elif content == "DIR":
                p.mkdir()
            else:
                p.write_bytes(content if isinstance(content, bytes) else content.encode())
        return d

    good_ogg = song("_good", {"g.ogg": good}) / "g.ogg"
    ogg_bytes = good_ogg.read_bytes()
    audio = {
        "empty.ogg": b"", "random.ogg": os.urandom(50000), "random.mp3": os.urandom(50000),
        "random.wav": os.urandom(50000), "random.flac": os.urandom(50000), "text.ogg": "not audio\n" * 100,
        "truncated.ogg": ogg_bytes[: len(ogg_bytes) // 3], "header-only.ogg": ogg_bytes[:4000],
        "corrupt-middle.ogg": ogg_bytes[:20000] + os.urandom(20000) + ogg_bytes[40000:],
        "silent.wav": np.zeros(8 * sr, dtype="float32"), "short.wav": good[: 2 * sr],
        "nan.wav": np.full(8 * sr, np.nan, dtype="float32"),
        "inf.wav": np.full(8 * sr, np.inf, dtype="float32"), "dc.wav": np.full(8 * sr, -1.0, dtype="float32"),
        "clipped.wav": np.sign(good).astype("float32"),
        "mp3-id3-only.mp3": b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\0" * 16 + os.urandom(2000),
        "wrong-ext.mp3": ogg_bytes, "flac-as-ogg.ogg": b"fLaC" + os.urandom(5000),
    }
    for i, (fname, content) in enumerate(audio.items()):
        d = song(f"a{i:02d}", {fname: content})
        out.append((f"audio {fname}", d, [d / fname, "-d", "beginner", "--bpm", "128", "--offset", "0"]))
    options = [["--offset", "nan"], ["--offset", "inf"], ["--offset", "1e308"], ["--offset", "-1e308"],
               ["--offset", "100"], ["--bpm", "0"], ["--bpm", "nan"], ["--bpm", "1e9"], ["--bpm", "-5"],
               ["-d", ","], ["-d", "bogus"], ["--finest", "7th"], ["--formats", "xx"], ["--beam", "0"],
               ["--weights", "/nonexistent"], ["--title", "x" * 100000]]
    for i, opts in enumerate(options):
        d = song(f"o{i:02d}", {"song.ogg": good})
        out.append((f"option {' '.join(opts)}", d, [d / "song.ogg", "-d", "beginner", *opts]))
    header = "#TITLE:x;\n#MUSIC:song.ogg;\n"
    chart = "#NOTES:\n dance-single:\n x:\n Hard:\n 5:\n 0,0,0,0,0:\n1000\n0000\n0000\n0000\n;\n"
    existing = {"bpm0": header + "#OFFSET:0;\n#BPMS:0=0;\n" + chart, "offset-nan": header + "#OFFSET:nan;\n#BPMS:0=120;\n" + chart,
                "truncated": "#NOTES:\n dance-single:\n", "utf16": (header + "#BPMS:0=120;\n" + chart).encode("utf-16"),
                "garbage": os.urandom(3000), "bpm-1e400": header + "#BPMS:1e400=120;\n" + chart}
    for i, (what, text) in enumerate(existing.items()):
        d = song(f"e{i:02d}", {"song.ogg": good, "song.sm": text})
        out.append((f"--add onto {what}", d, [d / "song.ogg", "-d", "beginner", "--add"]))
    d = song("f00", {"song.ogg": good, "song.sm": "DIR"})
    out.append(("--force onto a folder song.sm", d, [d / "song.ogg", "-d", "beginner", "--force"]))
    d = song("f01", {"song.ogg": good})
    out.append(("a folder as the song", d, [d, "-d", "beginner"]))
    d = song("f02", {"song.ogg": good})
    (d / "song.sm").symlink_to(base / "_good" / "g.ogg")
    out.append(("song.sm a symlink out, --force", d, [d / "song.ogg", "-d", "beginner", "--force", "--bpm", "128", "--offset", "0"]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--memory-mb", type=int, default=4096)
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    crashes, over, outside, tried = [], [], [], 0
    tmp = Path(tempfile.mkdtemp())
    try:
        for name, folder, argv in cases(tmp):
            before = tree(tmp, folder)
            tried += 1
            try:
                r = subprocess.run([sys.executable, "-m", "ddc_sm", "make", *map(str, argv)], capture_output=True,
                                   text=True, errors="replace", timeout=args.timeout, env=env,
                                   preexec_fn=limit(args.memory_mb))
            except subprocess.TimeoutExpired:
                over.append(f"{name}: over {args.timeout:.0f} s")
                continue
            if tree(tmp, folder) != before:
                outside.append(name)
            err = r.stderr.strip()
            last = err.splitlines()[-1] if err else ""
            if r.returncode < 0 or "MemoryError" in err:
                (over if r.returncode == -9 else crashes).append(f"{name}: signal {-r.returncode}")
            elif "Traceback" in err or r.returncode not in (0, 1, 2) or (r.returncode == 2 and not last.startswith("error:")
                                                                             and "Usage:" not in err):
                crashes.append(f"{name}: rc {r.returncode}: {last}")
            print(f"  {name}: rc {r.returncode}: {last[:110]}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"cases tried: {tried} (limits {args.timeout:.0f} s / {args.memory_mb} MB)")
    for label, items in (("crashes", crashes), ("over-limit", over), ("wrote-outside", outside)):
        print(f"{label}: {len(items)}")
        for item in items:
            print("  " + item)
    return 1 if crashes or over or outside else 0


if __name__ == "__main__":
    sys.exit(main())
