"""How fast `ddc-sm make` is against what it cannot avoid, idle and on a busy machine (issue #11).

    python benchmarks/make_speed.py                   # Numb (186 s) from ../shared/data, else a synthesised track
    python benchmarks/make_speed.py --audio SONG      # any 3-minute song
    python benchmarks/make_speed.py --skip-long --skip-pack   # the 3-minute figures only
    python benchmarks/make_speed.py --threads 2       # make --threads 2 (default: make's own default, 1)
    python benchmarks/make_speed.py --workers 1       # make --workers 1 (default: make's own, one per core)
    python benchmarks/make_speed.py --repeat 3        # the idle 3-minute run 3 times: the median, and each

Prints, in one run (each measurement a fresh process, so start-up and model loading are included):

* **the floor**: decoding the audio and computing both stages' log-mel features on one thread (as make does by
  default), (a) as the package computes them
  and (b) as librosa computes them (``librosa.load`` + ``librosa.feature.melspectrogram`` for the three
  placement FFT sizes and the selection one), each in a fresh process ("cold": imports and first calls
  included) and again in the same process ("warm": the arithmetic alone);
* **make** on the 3-minute song, all five difficulties: wall time, its ratio to each floor, peak RSS, and the
  stage breakdown make prints (``done in ...``);
* make with **--workers 1** (the whole song in one process, as before worker processes) idle, beside it, and
  whether its charts are the same bytes as the default's;
* the same with **one core kept busy** by a spinning child process, and its ratio to the idle run; the charts
  of both runs must be the same bytes (their SHA-256 is printed);
* the same for a **10-minute song** (the 3-minute audio repeated to 600 s);
* **pack --jobs 2** on four songs (60-second excerpts): songs per minute.

Targets (issue #11): make <= 2x the librosa floor idle, busy <= 2x idle, peak RSS <= 1 GB (3 minutes) and
<= 1.5 GB (10 minutes).  The thread budget is make's default (ddc_sm/threads.py); nothing here pins it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUMB = ROOT.parent / "shared" / "data" / "packs" / "Hodobox" / "Numb" / "Numb [Official Music Video] - Linkin Park.ogg"

# Runs a command as its own child and prints {"wall": s, "rss_mib": peak RSS of that child, "rc": exit code}.
MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"wall": wall, "rss_mib": rss, "rc": proc.returncode, "stderr": proc.stderr[-4000:]}))
"""

FLOOR = """
import json, sys, time
start = time.perf_counter()
kind, path = sys.argv[1], sys.argv[2]
def once():
    if kind == "librosa":
        import librosa
        y, sr = librosa.load(path, sr=None, mono=True)
        y16 = librosa.resample(y, orig_sr=sr, target_sr=16000, res_type="soxr_hq")
        for n_fft in (1024, 2048, 4096):
            librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=441, n_mels=80, fmin=27.5,
                                           fmax=16000.0)
        librosa.feature.melspectrogram(y=y16, sr=16000, n_fft=512, hop_length=160, n_mels=100, fmin=20.0,
                                       fmax=8000.0)
    else:
        from ddc_sm.audio.decode import load_audio
        from ddc_sm.audio.features import placement_features, selection_features
        audio = load_audio(path)
        placement_features(audio.resampled(44100).samples)
        selection_features(audio.resampled(16000).samples)
once()
cold = time.perf_counter() - start
start = time.perf_counter()
once()
print(json.dumps({"cold": cold, "warm": time.perf_counter() - start}))
"""


def spin() -> None:
    while True:
        pass


def measure(cmd: list[str], env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def floor(kind: str, audio: Path, env: dict) -> dict:
    # on one thread, as make computes its features by default (ddc_sm/threads.py), librosa too
    env = dict(env, **{var: "1" for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    out = subprocess.run([sys.executable, "-c", FLOOR, kind, str(audio)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"floor ({kind}) failed:\n{out.stderr}")
    return json.loads(out.stdout)


def charts_digest(audio: Path) -> str:
    h = hashlib.sha256()
    for ext in (".sm", ".ssc"):
        h.update(audio.with_suffix(ext).read_bytes())
    return h.hexdigest()[:16]


def stage_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if ": done in " in line]
    return lines[-1].split(": done in ", 1)[1] if lines else "(no stage line)"


EXTRA: list[str] = []  # options added to every make command (--threads, --workers)


def run_make(audio: Path, env: dict, busy: bool = False, extra: tuple = ()) -> dict:
    for ext in (".sm", ".ssc"):
        audio.with_suffix(ext).unlink(missing_ok=True)
    spinner = None
    if busy:
        spinner = multiprocessing.get_context("spawn").Process(target=spin, daemon=True)
        spinner.start()
        time.sleep(0.5)
    try:
        r = measure([sys.executable, "-m", "ddc_sm", "make", str(audio), "-d", "all", *EXTRA, *extra], env)
    finally:
        if spinner is not None:
            spinner.terminate()
            spinner.join()
    if r["rc"] != 0:
        raise SystemExit(f"make failed on {audio.name}:\n{r['stderr']}")
    r["digest"] = charts_digest(audio)
    r["stages"] = stage_line(r["stderr"])
    return r


def write_ogg(path: Path, samples, sr: int) -> None:
    import soundfile

    with soundfile.SoundFile(path, "w", sr, 1, format="OGG", subtype="VORBIS") as f:
        for i in range(0, len(samples), sr * 10):  # libsndfile's Vorbis encoder can crash on one long write
            f.write(samples[i:i + sr * 10])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--audio", type=Path, help="the 3-minute song (default: Numb from ../shared/data, else synthesised)")
    ap.add_argument("--skip-long", action="store_true", help="no 10-minute song")
    ap.add_argument("--skip-pack", action="store_true", help="no pack --jobs 2 run")
    ap.add_argument("--threads", type=int, help="make --threads N (default: make's default)")
    ap.add_argument("--workers", type=int, help="make --workers N (default: make's default)")
    ap.add_argument("--repeat", type=int, default=1, help="idle 3-minute runs (the median is the figure)")
    args = ap.parse_args()
    if args.threads:
        EXTRA.extend(["--threads", str(args.threads)])
    if args.workers:
        EXTRA.extend(["--workers", str(args.workers)])
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "DDC_SM_THREADS", "DDC_SM_WORKERS"):
        env.pop(var, None)  # make's own default thread budget, as a user gets it
    import numpy as np

    from ddc_sm.audio.decode import load_audio

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        song = tmp / "song"
        song.mkdir()
        if args.audio or NUMB.exists():
            source = args.audio or NUMB
            audio = song / ("song" + source.suffix.lower())
            shutil.copy(source, audio)
            label = source.name
        else:
            from ddc_sm.audio.synth import drum_track

            track = drum_track(140.0, 0.3, 180.0, seed=1)
            audio = song / "song.ogg"
            write_ogg(audio, track.samples, track.sample_rate)
            label = "synthesised 140 BPM drum track"
        decoded = load_audio(audio, check=False)
        print(f"machine: {os.cpu_count()} cores; audio: {label} ({decoded.duration:.1f} s); make -d all; "
              f"{'--threads ' + str(args.threads) if args.threads else 'default threads'}, "
              f"{'--workers ' + str(args.workers) if args.workers else 'default workers'}")

        ours, theirs = floor("package", audio, env), floor("librosa", audio, env)
        print(f"floor, package: cold {ours['cold']:.2f} s, warm {ours['warm']:.2f} s "
              "(decode + both stages' features)")
        print(f"floor, librosa: cold {theirs['cold']:.2f} s, warm {theirs['warm']:.2f} s")

        runs, alone = [], []
        for _ in range(max(1, args.repeat)):  # interleaved, so that both see the same machine
            runs.append(run_make(audio, env))
            alone.append(run_make(audio, env, extra=("--workers", "1")))
        idle = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]
        one = sorted(alone, key=lambda r: r["wall"])[len(alone) // 2]
        busy = run_make(audio, env, busy=True)
        if len(runs) > 1:
            walls = ", ".join(f"{r['wall']:.2f}" for r in runs)
            walls_one = ", ".join(f"{r['wall']:.2f}" for r in alone)
            print(f"make idle, {len(runs)} runs: {walls} s; with --workers 1: {walls_one} s; the medians below")
        print(f"make idle: {idle['wall']:.2f} s = {idle['wall'] / theirs['cold']:.2f}x librosa cold floor, "
              f"{idle['wall'] / theirs['warm']:.2f}x librosa warm floor, {idle['wall'] / ours['cold']:.2f}x package "
              f"cold floor; peak RSS {idle['rss_mib']:.0f} MiB")
        print(f"  stages: {idle['stages']}")
        print(f"make --workers 1 idle: {one['wall']:.2f} s = {one['wall'] / theirs['cold']:.2f}x librosa cold floor "
              f"(default workers: {idle['wall'] / one['wall']:.2f}x its time); charts "
              f"{'the same bytes' if one['digest'] == idle['digest'] else 'DIFFERENT'}")
        print(f"  stages: {one['stages']}")
        print(f"make busy (one core spinning): {busy['wall']:.2f} s = {busy['wall'] / idle['wall']:.2f}x idle; "
              f"peak RSS {busy['rss_mib']:.0f} MiB")
        print(f"  stages: {busy['stages']}")
        print(f"charts idle {idle['digest']}, busy {busy['digest']}: "
              f"{'same bytes' if idle['digest'] == busy['digest'] else 'DIFFERENT'}")

        if not args.skip_long:
            long_dir = tmp / "long"
            long_dir.mkdir()
            long_audio = long_dir / "long.ogg"
            reps = int(np.ceil(600.0 / decoded.duration))
            write_ogg(long_audio, np.tile(decoded.samples, reps)[:600 * decoded.sample_rate], decoded.sample_rate)
            li, lb = run_make(long_audio, env), run_make(long_audio, env, busy=True)
            print(f"10-minute song (the audio repeated): idle {li['wall']:.2f} s, peak RSS {li['rss_mib']:.0f} MiB; "
                  f"busy {lb['wall']:.2f} s = {lb['wall'] / li['wall']:.2f}x idle, peak RSS {lb['rss_mib']:.0f} MiB")
            print(f"  stages: {li['stages']}")

        if not args.skip_pack:
            pack = tmp / "pack"
            sr = decoded.sample_rate
            for i in range(4):
                start = int(i * max(0.0, decoded.duration - 60.0) / 3 * sr)
                (pack / f"Song {i + 1}").mkdir(parents=True)
                write_ogg(pack / f"Song {i + 1}" / f"song{i + 1}.ogg", decoded.samples[start:start + 60 * sr], sr)
            r = measure([sys.executable, "-m", "ddc_sm", "pack", str(pack), "--jobs", "2", "-q"], env)
            if r["rc"] != 0:
                raise SystemExit(f"pack failed:\n{r['stderr']}")
            print(f"pack --jobs 2, 4 songs of 60 s, all difficulties: {r['wall']:.1f} s = "
                  f"{4 / r['wall'] * 60:.1f} songs per minute")
    return 0


if __name__ == "__main__":
    sys.exit(main())
