"""Fuzz ``ddc-sm check``: mutate simfiles in hostile and careless ways, run check on each in a subprocess under a
time and memory limit, and print cases tried / crashes / over-limit.

    OMP_NUM_THREADS=1 python benchmarks/fuzz_check.py [--cases N] [--seed S] [--timeout S] [--memory-mb M]

Sources: the simfiles under ../shared/data when present (a sample), else clean ones built here.  A *crash* is
a traceback or an exit code other than 0/1 (2 with a one-line ``error:`` counts as handled); *over-limit* is a
run past the time limit or killed for memory.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

CLEAN = ("#TITLE:t;\n#ARTIST:a;\n#MUSIC:song.ogg;\n#OFFSET:0.000;\n#BPMS:0.000=120.000;\n#STOPS:;\n"
         "#SAMPLESTART:1;\n#SAMPLELENGTH:5;\n#NOTES:\n     dance-single:\n     :\n     Hard:\n     5:\n"
         "     0,0,0,0,0:\n1000\n0100\n0010\n0001\n,\n2000\n0000\n3000\n0000\n;\n")


def mutations(rng: random.Random):
    """(name, function text -> text or bytes)."""
    def sub(tag, value):
        def f(t):
            import re
            out, n = re.subn(rf"#{tag}:[^;]*;", lambda _m: f"#{tag}:{value};", t, count=1, flags=re.I)
            return out if n else f"#{tag}:{value};\n" + t
        return f

    def flip(t):
        b = bytearray(t.encode("utf-8", "replace"))
        for _ in range(rng.randint(1, 20)):
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)

    return [
        ("bpm-1e400", sub("BPMS", "1e400=120")), ("bpm-1e308", sub("BPMS", "0=1e308")),
        ("bpm-zero", sub("BPMS", "0=0")), ("bpm-negative-first", sub("BPMS", "0=-120")),
        ("bpm-nan", sub("BPMS", "0=nan")), ("bpm-garbage", sub("BPMS", "0=12=0,,=,x")),
        ("bpm-many", sub("BPMS", ",".join(f"{i}=120" for i in range(200000)))),
        ("stops-16k", sub("STOPS", ",".join(f"{i}=0.01" for i in range(16000)))),
        ("offset-nan", sub("OFFSET", "nan")), ("offset-1e308", sub("OFFSET", "1e308")),
        ("offset-inf", sub("OFFSET", "-inf")), ("meter-400-digits", lambda t: t.replace("     5:", "     " + "9" * 400 + ":", 1)),
        ("music-escape", sub("MUSIC", "../../../../etc/passwd")), ("music-absolute", sub("MUSIC", "/etc/passwd")),
        ("music-missing", sub("MUSIC", "nothere.ogg")), ("title-5mb", sub("TITLE", "x" * 5_000_000)),
        ("title-25mb", sub("TITLE", "x" * 25_000_000)), ("utf16", lambda t: t.encode("utf-16")),
        ("utf16-be", lambda t: t.encode("utf-16-be")), ("nul-bytes", lambda t: t.replace(";", "\0;")),
        ("no-semicolons", lambda t: t.replace(";", "")), ("truncated", lambda t: t[:rng.randrange(1, max(2, len(t)))]),
        ("empty", lambda t: ""), ("only-hash", lambda t: "#" * 10000),
        ("byte-flips", flip), ("huge-measure", lambda t: t.replace("1000\n", "1000\n" * 100000, 1)),
        ("odd-rows", lambda t: t.replace("0100\n", "0100\n0\n01\n", 1)),
        ("notes-garbage", lambda t: t.replace("0001", "ZZ[9]{x", 1)),
        ("sample-nan", sub("SAMPLESTART", "nan")), ("duplicate-chart", lambda t: t + t[t.find("#NOTES"):]),
        ("samplelength-huge", sub("SAMPLELENGTH", "1e999")), ("crlf", lambda t: t.replace("\n", "\r\n")),
        ("lone-cr", lambda t: t.replace("\n", "\r")), ("bom", lambda t: "\ufeff" + t),
        ("cp932-title", lambda t: sub("TITLE", "テスト")(t).encode("cp932", "replace")),
        ("delays-warps", lambda t: sub("WARPS", "1=-5")(sub("DELAYS", "0=1e9")(t))),
        ("ssc-like-tags", lambda t: "#VERSION:0.83;\n#NOTEDATA:;\n#BPMS:0=x;\n" + t),
    ]


def sources(rng: random.Random, n: int) -> list[tuple[str, str]]:
    files = sorted(DATA.rglob("*.sm"))[:2000] + sorted(DATA.rglob("*.ssc"))[:2000] if DATA.is_dir() else []
    if not files:
        return [("clean.sm", CLEAN)]
    picked = rng.sample(files, min(n, len(files)))
    return [(p.name, p.read_bytes().decode("utf-8", "replace")) for p in picked]


def limit(memory_mb: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    return apply


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=80)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--memory-mb", type=int, default=2048)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    muts = mutations(rng)
    srcs = sources(rng, 20)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    crashes, over, tried = [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        song = Path(tmp) / "pack" / "song"
        song.mkdir(parents=True)
        sys.path.insert(0, str(ROOT))
        from ddc_sm.audio.synth import drum_track
        import soundfile

        track = drum_track(120.0, 0.0, 8.0, sample_rate=22050)
        soundfile.write(str(song / "song.ogg"), track.samples, 22050)
        for i in range(args.cases):
            name, fn = muts[i] if i < len(muts) else rng.choice(muts)
            src_name, text = rng.choice(srcs)
            data = fn(text)
            path = song / ("fuzz.ssc" if src_name.lower().endswith(".ssc") else "fuzz.sm")
            for old in song.glob("fuzz.*"):
                old.unlink()
            path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
            tried += 1
            for extra in ([], ["--json"]) if i < len(muts) else ([],):
                try:
                    r = subprocess.run([sys.executable, "-m", "ddc_sm", "check", str(path), *extra], capture_output=True,
                                       text=True, errors="replace", timeout=args.timeout, env=env,
                                       preexec_fn=limit(args.memory_mb))
                except subprocess.TimeoutExpired:
                    over.append(f"{name} ({src_name}{' --json' if extra else ''}): over {args.timeout:.0f} s")
                    continue
                if r.returncode < 0 or "MemoryError" in r.stderr:
                    over.append(f"{name} ({src_name}): killed (rc {r.returncode}) / out of memory")
                elif "Traceback" in r.stderr or r.returncode not in (0, 1, 2) or \
                        (r.returncode == 2 and not r.stderr.startswith("error:")):
                    crashes.append(f"{name} ({src_name}{' --json' if extra else ''}): rc {r.returncode}: "
                                   f"{r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''}")
    print(f"cases tried: {tried} (sources: {'../shared/data' if DATA.is_dir() else 'built-in'}, "
          f"limits {args.timeout:.0f} s / {args.memory_mb} MB)")
    print(f"crashes: {len(crashes)}")
    for c in crashes:
        print("  " + c)
    print(f"over-limit: {len(over)}")
    for o in over:
        print("  " + o)
    return 1 if crashes or over else 0


if __name__ == "__main__":
    sys.exit(main())
