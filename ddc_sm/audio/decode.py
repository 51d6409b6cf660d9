"""Decoding audio files (.ogg, .mp3, .wav, .flac) into mono float32 at a chosen sample rate."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ddc_sm.errors import AudioError

AUDIO_EXTENSIONS = (".ogg", ".oga", ".mp3", ".wav", ".flac")
STEPMANIA_PLAYS = (".mp3", ".oga", ".ogg", ".wav")  # in the order StepMania 5 looks for them; no FLAC
MAX_DURATION_S = 30 * 60.0
MIN_DURATION_S = 5.0
LOST_TOLERANCE_S = 1.0  # decoding this much less than the header's length means a damaged file
# -80 dBFS: audio whose peak stays below this is silent; load_audio refuses it and the tempo estimator
# (on the audio it analyses) reports it as silent, with its fallback tempo
SILENCE_PEAK = 1e-4
ENCODE_BLOCK = 1 << 16  # frames per write when encoding Ogg Vorbis


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
    if check:  # the header's length first: a 31-minute file is refused before it is decoded (1 GB)
        try:
            with _quiet_stderr():
                expected = header_duration(path)
        except AudioError:
            expected = None
        if expected is not None and expected > MAX_DURATION_S:
            raise AudioError(f"audio is {expected / 60:.1f} minutes long; the limit is {MAX_DURATION_S / 60:.0f} "
                             f"minutes: {path}")
    else:
        expected = None
    y, sr, warnings = _decode(path)
    if y.size == 0:
        raise AudioError(f"audio file {path} holds no usable samples (empty or corrupt)")
    if not np.all(np.isfinite(y)):
        raise AudioError(f"audio file {path} has samples that are not finite numbers (NaN or infinity): it is "
                         "corrupt")
    audio = Audio(np.ascontiguousarray(y, dtype=np.float32), sr, path, warnings)
    if check:
        lost = expected - audio.duration if expected is not None else 0.0
        if lost > LOST_TOLERANCE_S and (audio.duration < 0.5 * expected or audio.duration < MIN_DURATION_S):
            raise AudioError(f"only {audio.duration:.1f} s of {expected:.1f} s could be decoded: the file is corrupt "
                             f"or truncated: {path}")
        if lost > LOST_TOLERANCE_S and not warnings:
            audio = Audio(audio.samples, sr, path, (f"{path.name}: only {audio.duration:.1f} s of {expected:.1f} s "
                                                    "could be decoded (the file is damaged); the chart covers those",))
        if audio.duration < MIN_DURATION_S:
            raise AudioError(f"audio is {audio.duration:.1f} s long; at least {MIN_DURATION_S:.0f} s is needed for a chart: {path}")
        if audio.duration > MAX_DURATION_S:
            raise AudioError(f"audio is {audio.duration / 60:.1f} minutes long; the limit is {MAX_DURATION_S / 60:.0f} minutes: {path}")
        if float(np.max(np.abs(y))) < SILENCE_PEAK:
            raise AudioError(f"audio is silent (peak below -80 dBFS): {path}")
        if float(np.max(y)) - float(np.min(y)) < SILENCE_PEAK:  # a constant level (DC) is no sound either
            raise AudioError(f"audio is silent (one constant level, {float(y[0]):+.2f}, throughout): {path}")
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
    import soundfile

    from ddc_sm.simfiles.writer import temporary_beside

    tmp = None
    try:
        with soundfile.SoundFile(str(path)) as src:
            fd, tmp = temporary_beside(target, existing_mode=False)
            os.close(fd)
            # block by block: one soundfile.write of a long Ogg Vorbis stream crashes libvorbis (segfault, >= 60 s)
            with soundfile.SoundFile(tmp, "w", src.samplerate, src.channels, format="OGG", subtype="VORBIS") as dst:
                while True:
                    block = src.read(ENCODE_BLOCK, dtype="float32", always_2d=True)
                    if not len(block):
                        break
                    dst.write(block)
        os.replace(tmp, target)
    except Exception as exc:
        raise AudioError(f"cannot convert {path.name} to Ogg Vorbis for StepMania: {exc}") from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return target


def header_duration(path: str | os.PathLike) -> Optional[float]:
    """Length of an audio file in seconds from its header, without decoding it (None when it holds no frames).

    MP3 lengths come from counting frames (:func:`ddc_sm.audio.mp3.mp3_duration`): an mp3 header's length is a
    guess, seconds off for VBR files without a Xing header.  Raises :class:`AudioError` when the file cannot be
    read or is no audio file that libsndfile knows.
    """
    path = Path(path)
    if path.suffix.lower() == ".mp3":
        from ddc_sm.audio.mp3 import mp3_duration

        try:
            length = mp3_duration(path)
        except OSError as exc:
            raise AudioError(str(exc)) from exc
        if length:
            return length
    import soundfile

    try:
        with _quiet_stderr():  # decoder chatter (mpg123) is not for the user
            info = soundfile.info(str(path))
    except Exception as exc:  # unreadable / unsupported
        raise AudioError(str(exc).strip() or type(exc).__name__) from exc
    return float(info.frames) / float(info.samplerate) if info.samplerate and info.frames > 0 else None
