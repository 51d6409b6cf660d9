"""Time `ddc-sm make` on a 3-minute song for all 5 difficulties; print wall seconds and peak RSS.

    python benchmarks/make_speed.py                 # a synthesised 3-minute drum track
    python benchmarks/make_speed.py --audio SONG    # your own audio (copied to a temp folder first)

Each run is a fresh process (`python -m ddc_sm make ...`), so the figures include start-up and model loading.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--audio", type=Path, help="audio file to time (default: synthesised 3-minute track)")
    ap.add_argument("--repeat", type=int, default=1, help="runs to time (default 1)")
    ap.add_argument("--difficulty", default="all")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.audio:
            audio = tmp / args.audio.name
            shutil.copy(args.audio, audio)
        else:
            import soundfile

            from ddc_sm.audio.synth import drum_track

            track = drum_track(140.0, 0.3, 180.0, seed=1)
            audio = tmp / "synth_140bpm_3min.ogg"
            # libsndfile's Vorbis encoder can crash on one very long write: write 10 s at a time
            with soundfile.SoundFile(audio, "w", track.sample_rate, 1, format="OGG", subtype="VORBIS") as f:
                for i in range(0, len(track.samples), track.sample_rate * 10):
                    f.write(track.samples[i:i + track.sample_rate * 10])
        import soundfile

        duration = soundfile.info(str(audio)).duration
        print(f"audio: {audio.name} ({duration:.1f} s), difficulties: {args.difficulty}")
        for i in range(args.repeat):
            for ext in (".sm", ".ssc"):
                audio.with_suffix(ext).unlink(missing_ok=True)
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "ddc_sm", "make", str(audio), "--difficulty", args.difficulty,
                                   "--quiet"], capture_output=True, text=True)
            wall = time.perf_counter() - start
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return proc.returncode
            peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"run {i + 1}: wall {wall:.2f} s, peak RSS {peak_mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
