"""Decoding audio files (.ogg, .mp3, .wav, .flac) into mono float32 at a chosen sample rate."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ddc_sm.errors import AudioError

AUDIO_EXTENSIONS = (".ogg", ".oga", ".mp3", ".wav", ".flac")
STEPMANIA_PLAYS = (".mp3", ".oga", ".ogg", ".wav")  # in the order StepMania 5 looks for them; no FLAC
MAX_DURATION_S = 30 * 60.0
MIN_DURATION_S = 5.0
# -80 dBFS: audio whose peak stays below this is silent; load_audio refuses it and the tempo estimator
# (on the audio it analyses) reports it as silent, with its fallback tempo
SILENCE_PEAK = 1e-4


@dataclass(frozen=True)
class Audio:
    """Decoded mono audio and where it came from."""

    samples: np.ndarray  # float32, mono
    sample_rate: int
    path: Path
    warnings: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)

    def resampled(self, sample_rate: int) -> "Audio":
        if sample_rate == self.sample_rate:
            return self
        import soxr

        y = soxr.resample(self.samples, self.sample_rate, sample_rate, quality="HQ")
        return Audio(np.ascontiguousarray(y, dtype=np.float32), sample_rate, self.path, self.warnings)


def _read_soundfile(path: Path) -> tuple[np.ndarray, int, tuple[str, ...]]:
    """Decode with libsndfile block by block; a decoding error late in the file keeps what came before it."""
    import soundfile

    blocks = []
    with soundfile.SoundFile(str(path)) as f:
        sr, expected = int(f.samplerate), f.frames
        decoded = 0
        while True:
            try:
                block = f.read(sr, dtype="float32", always_2d=True)
            except Exception:
                if decoded >= max(0.5 * expected, MIN_DURATION_S * sr):
                    lost = (expected - decoded) / sr
                    y = np.concatenate(blocks).mean(axis=1)
                    return y, sr, (f"{path.name}: the last {lost:.1f} s could not be decoded and are ignored",)
                raise
            if len(block) == 0:
                break
            blocks.append(block)
            decoded += len(block)
    if not blocks:
        return np.zeros(0, dtype=np.float32), sr, ()
    return np.concatenate(blocks).mean(axis=1), sr, ()


@contextlib.contextmanager
def _quiet_stderr():
    """Silence what C decoders (mpg123) print on file descriptor 2 while decoding."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _decode(path: Path) -> tuple[np.ndarray, int, tuple[str, ...]]:
    with _quiet_stderr():
        try:
            return _read_soundfile(path)
        except Exception:  # libsndfile could not read it: try audioread (ffmpeg/gstreamer) via librosa
            pass
        try:
            import warnings

            import librosa

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y, sr = librosa.load(str(path), sr=None, mono=True)
            return y.astype(np.float32), int(sr), ()
        except Exception:
            pass
    raise AudioError(f"cannot decode {path}: not a readable audio file (corrupt or unsupported encoding)")


def load_audio(path: str | os.PathLike, sample_rate: int | None = None, *, check: bool = True) -> Audio:
    """Load ``path`` as mono float32, resampled to ``sample_rate`` (native rate when None).

    With ``check`` (the default) silent, too short or too long audio raises :class:`AudioError`
    with a message meant for the user.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(f"audio file not found: {path}")
    if path.is_dir():
        raise AudioError(f"expected an audio file, got a folder: {path}")
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioError(f"unsupported audio type '{path.suffix}' for {path} (use one of {', '.join(AUDIO_EXTENSIONS)})")
    y, sr, warnings = _decode(path)
    if y.size == 0 or not np.all(np.isfinite(y)):
        raise AudioError(f"audio file {path} holds no usable samples (empty or corrupt)")
    audio = Audio(np.ascontiguousarray(y, dtype=np.float32), sr, path, warnings)
    if check:
        if audio.duration < MIN_DURATION_S:
            raise AudioError(f"audio is {audio.duration:.1f} s long; at least {MIN_DURATION_S:.0f} s is needed for a chart: {path}")
        if audio.duration > MAX_DURATION_S:
            raise AudioError(f"audio is {audio.duration / 60:.1f} minutes long; the limit is {MAX_DURATION_S / 60:.0f} minutes: {path}")
        if float(np.max(np.abs(y))) < SILENCE_PEAK:
            raise AudioError(f"audio is silent (peak below -80 dBFS): {path}")
    if sample_rate is not None:
        audio = audio.resampled(sample_rate)
    return audio


def audio_tags(path: str | os.PathLike) -> dict[str, str]:
    """Title and artist from the file's tags where libsndfile can read them, else {}."""
    try:
        import soundfile

        with soundfile.SoundFile(str(path)) as f:
            tags = {"title": getattr(f, "title", "") or "", "artist": getattr(f, "artist", "") or ""}
    except Exception:
        return {}
    return {k: v.strip() for k, v in tags.items() if v and v.strip()}


def playable_copy(path: str | os.PathLike) -> Path:
    """An audio file StepMania can play for ``path``: the file itself, or for FLAC an .ogg beside it.

    An existing ``<stem>.ogg`` is used as it is; otherwise one is encoded (Ogg Vorbis, same channels and rate)
    and written atomically.
    """
    path = Path(path)
    if path.suffix.lower() in STEPMANIA_PLAYS:
        return path
    target = path.with_suffix(".ogg")
    if target.exists():
        return target
    import tempfile

    import soundfile

    try:
        data, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".ogg", dir=str(target.parent))
        os.close(fd)
        try:
            soundfile.write(tmp, data, sr, format="OGG", subtype="VORBIS")
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except Exception as exc:
        raise AudioError(f"cannot convert {path.name} to Ogg Vorbis for StepMania: {exc}") from exc
    return target
