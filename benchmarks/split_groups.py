"""Songs of ``../shared/data`` that are the same music, and whether the split keeps each group in one part.

Two songs are one group when either

* their titles agree once normalised (case, punctuation, and the words that mark another version of one song:
  remix, mix, edit, cut, version, nightcore, cover, extended, short, theme, special ed., fixed, vocal credits, and
  bracketed credits), or one
  normalised title is the other followed by more words (``Kyoto`` / ``kyoto_meme``), with the audio agreeing at
  least ``TITLE_AUDIO_MIN``; or
* their audio agrees at least ``AUDIO_MIN`` whatever the titles say.

The audio fingerprint is the chroma of each song averaged per beat of its own human chart's timing (so a
nightcore, sped up and pitched up, lines up beat for beat with its source), each of the 12 bins z-scored over
the song and each beat's vector unit-normalised; two songs agree by the largest mean cosine over at least
``MIN_OVERLAP_BEATS`` overlapping beats, over every lag, the 12 transpositions, and one song at half its beat
rate (a chart at twice the other's BPM), after each bin's running mean over 17 beats is removed (chord changes
count, not a song's key or a long held chord).  Unrelated songs of these packs score at most 0.40; the known
versions of one song 0.20 (a remix of a theme) to 0.51 (printed by this script: the highest-scoring pairs
whatever their titles, and every group).  So the title finds the versions and the audio is the second opinion
for titles that only extend one another; no pair here is grouped by audio alone.

    python benchmarks/split_groups.py            # the groups, and the split's parts they fall in
    python benchmarks/split_groups.py --write    # also rewrite split_shared_data.json: every group in one part

``--write`` keeps the split as it was except that a group found in more than one part moves wholly to its
earliest part in the order train, valid, test: a song only ever leaves ``test`` (or ``valid``), so the
remaining ``test`` songs were never read by the shipped weights or by any constant fitted on train/valid,
and the groups are recorded in the file (``groups``, read by :func:`ddc_sm.simfiles.splits.song_groups`).
The thresholds here were chosen by reading this script's table on all of ``../shared/data`` (a grouping
of the data, not a figure reported on ``test``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ddc_sm import threads  # noqa: E402

DEFAULT_ROOT = REPO.parent / "shared" / "data" / "packs"
AUDIO_MIN = 0.45  # audio alone groups two songs: above every pair of unrelated songs here (at most 0.40)
TITLE_AUDIO_MIN = 0.3  # a title that extends the other's, with audio this similar
MIN_OVERLAP_BEATS = 32
MIN_OVERLAP_SHARE = 0.5  # of the shorter song's heard beats: a cut or an edit overlaps its source for all of it
LOCAL_BEATS = 8
QUIET = 0.1  # a beat quieter than this share of the song's median level is not compared (silence, fades)
VERSION_WORDS = {"remix", "mix", "edit", "cut", "version", "ver", "nightcore", "cover", "extended", "short",
                 "meme", "special", "ed", "theme", "fixed", "metal", "techno", "radio", "original", "full", "long", "size", "tv", "thumbsy",
                 "feat", "ft", "vs", "and", "the", "hatsune", "miku", "gumi", "ia", "luka", "megurine", "rin",
                 "len", "kagamine", "teto", "kasane", "mixx"}
SR = 22050
HOP = 512


def normalised_title(title: str) -> list[str]:
    """The title's words without version markers, credits, dates and punctuation, lower case."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"\[\d{4}\.\d\d\.\d\d\]", " ", text)  # Thumbsy's dates
    text = re.sub(r"\[[^\]]*\]", " ", text)  # bracketed credits
    text = re.sub(r"\(([^)]*)\)", lambda m: " " if set(re.findall(r"[a-z]+", m.group(1))) & VERSION_WORDS
                  else " " + m.group(1) + " ", text)
    words = re.findall(r"[a-z0-9]+", text)
    return [w for w in words if w not in VERSION_WORDS]


def titles_relate(a: list[str], b: list[str]) -> str | None:
    """'same' when the normalised titles agree, 'extends' when one is the other plus words, else None."""
    if not a or not b:
        return None
    if a == b:
        return "same"
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if long_[:len(short)] == short and len("".join(short)) >= 4:
        return "extends"
    return None


def beat_chroma(song) -> np.ndarray | None:
    """(beats, 12): the song's chroma averaged per beat of its own chart's timing, normalised (see above)."""
    import librosa

    from ddc_sm.audio.decode import load_audio
    from ddc_sm.timing.grid import simfile_timing

    if song.audio_path is None:
        return None
    y = load_audio(song.audio_path, SR, check=False).samples
    chroma = librosa.feature.chroma_stft(y=y, sr=SR, hop_length=HOP)  # (12, frames)
    rms = librosa.feature.rms(y=y, hop_length=HOP)[0][:chroma.shape[1]]
    frame_t = librosa.frames_to_time(np.arange(chroma.shape[1]), sr=SR, hop_length=HOP)
    timing = simfile_timing(song.simfile_path)
    first = int(np.ceil(float(timing.beat_at(np.array([0.0]))[0])))
    last = int(np.floor(float(timing.beat_at(np.array([frame_t[-1]]))[0])))
    if last - first < MIN_OVERLAP_BEATS:
        return None
    edges = timing.time_at(np.arange(first, last + 1, dtype=float))
    idx = np.searchsorted(frame_t, edges)
    beats = np.stack([chroma[:, i:max(j, i + 1)].mean(axis=1) for i, j in zip(idx[:-1], idx[1:])])
    level = np.array([rms[i:max(j, i + 1)].mean() if i < len(rms) else 0.0 for i, j in zip(idx[:-1], idx[1:])])
    return beats, level


def fingerprint(beats: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Beat chroma with each bin's running mean (``LOCAL_BEATS`` either side) removed: chord changes, not a key."""
    from scipy.ndimage import uniform_filter1d

    local = uniform_filter1d(beats, size=2 * LOCAL_BEATS + 1, axis=0, mode="nearest")
    return _normalised(beats - local, level >= QUIET * np.median(level))


def _normalised(beats: np.ndarray, heard: np.ndarray) -> np.ndarray:
    """Bins z-scored over the heard beats, each heard beat unit length; quiet beats all zeros (they agree with nothing)."""
    out = np.zeros_like(beats)
    if heard.sum() < 2:
        return out
    b = beats[heard]
    b = (b - b.mean(axis=0)) / (b.std(axis=0) + 1e-8)
    out[heard] = b / (np.linalg.norm(b, axis=1, keepdims=True) + 1e-8)
    return out


def half_rate(beats: np.ndarray) -> np.ndarray:
    n = len(beats) // 2 * 2
    pairs = beats[:n].reshape(-1, 2, 12)
    heard = (np.abs(pairs).sum(axis=2) > 0).all(axis=1)
    return _normalised(pairs.sum(axis=1), heard)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """The largest mean cosine of ``a`` against ``b`` over lags (overlap >= MIN_OVERLAP_BEATS) and transpositions."""
    n = len(a) + len(b) - 1
    size = 1 << (n - 1).bit_length()
    fa = np.fft.rfft(a, size, axis=0)
    heard_a, heard_b = (np.abs(a).sum(axis=1) > 0) * 1.0, (np.abs(b).sum(axis=1) > 0) * 1.0
    overlap = np.round(np.convolve(heard_a, heard_b[::-1]))  # heard beats in common at each lag
    needed = max(MIN_OVERLAP_BEATS, MIN_OVERLAP_SHARE * min(heard_a.sum(), heard_b.sum()))
    ok = overlap >= needed
    if not ok.any():
        return 0.0
    best = -1.0
    for r in range(12):
        br = np.roll(b, r, axis=1)[::-1]
        corr = np.fft.irfft(fa * np.fft.rfft(br, size, axis=0), size, axis=0)[:n].sum(axis=1)
        best = max(best, float((corr[ok] / overlap[ok]).max()))
    return best


def song_agreement(a: np.ndarray, b: np.ndarray) -> float:
    return max(agreement(a, b), agreement(half_rate(a), b), agreement(a, half_rate(b)))


def find_groups(songs, fingerprints):
    """(groups of song keys with two or more members, table of pairs with their title relation and audio score)."""
    keys = [s.key for s in songs]
    titles = {s.key: normalised_title(s.title or s.song_dir.name) for s in songs}
    parent = {k: k for k in keys}

    def root(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    pairs = []
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            fa, fb = fingerprints.get(a), fingerprints.get(b)
            score = song_agreement(fa, fb) if fa is not None and fb is not None else float("nan")
            relation = titles_relate(titles[a], titles[b])
            joined = (relation == "same" or (relation == "extends" and score >= TITLE_AUDIO_MIN)
                      or score >= AUDIO_MIN)
            pairs.append((score, relation, joined, a, b))
            if joined:
                parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for k in keys:
        groups.setdefault(root(k), []).append(k)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1), pairs


def regrouped_split(split: dict, groups: list[list[str]]) -> tuple[dict, list[tuple[str, str, str]]]:
    """The split with every group in its earliest part (train, valid, test); and the moves (song, from, to)."""
    from ddc_sm.simfiles.splits import PARTS

    part = {k: p for p in PARTS for k in split[p]}
    moves = []
    for group in groups:
        parts = [part[k] for k in group if k in part]
        if not parts:
            continue
        target = min(parts, key=PARTS.index)
        for k in group:
            if k in part and part[k] != target:
                moves.append((k, part[k], target))
                part[k] = target
    new = {p: sorted(k for k, q in part.items() if q == p) for p in PARTS}
    return new, moves


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--write", action="store_true", help="rewrite the split file with every group in one part")
    parser.add_argument("--cache", type=Path, help="keep the beat chroma in this .npz (reruns skip the audio)")
    parser.add_argument("--top", type=int, default=25, help="how many of the best-agreeing pairs to print")
    args = parser.parse_args(argv)
    threads.configure(None)
    if not args.root.is_dir():
        print(f"skipped: {args.root} is absent (the shared data set)", file=sys.stderr)
        return 0
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import SPLIT_FILE, load_split, part_of

    songs = list(iter_songs([args.root], with_charts=False))
    cached = dict(np.load(args.cache, allow_pickle=True))["chroma"].item() if args.cache and args.cache.exists() else {}
    fingerprints = {}
    for i, song in enumerate(songs, 1):
        try:
            if song.key not in cached:
                cached[song.key] = beat_chroma(song)
            if cached[song.key] is not None:
                fingerprints[song.key] = fingerprint(*cached[song.key])
        except Exception as exc:  # a song whose audio or timing cannot be read is grouped by title only
            print(f"  {song.key}: no fingerprint ({exc})", file=sys.stderr)
        print(f"\r fingerprints {i}/{len(songs)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if args.cache:
        np.savez(args.cache, chroma=np.array(cached, dtype=object))
    groups, pairs = find_groups(songs, fingerprints)
    split = load_split()
    print(f"{len(songs)} songs; the {args.top} pairs whose audio agrees best (mean cosine of beat chroma), "
          f"title relation, grouped:")
    for score, relation, joined, a, b in sorted(pairs, key=lambda p: -np.nan_to_num(p[0], nan=-1))[:args.top]:
        print(f"  {score:5.2f}  {relation or '-':8s} {'GROUP' if joined else '     '}  {a}  |  {b}")
    print(f"\n{len(groups)} groups of the same music:")
    for group in groups:
        print("  " + "  +  ".join(f"{k} [{part_of(k, split) or 'unsplit'}]" for k in group))
    new, moves = regrouped_split(split, groups)
    if moves:
        print(f"\n{len(moves)} songs in another part than their group:")
        for k, old, to in moves:
            print(f"  {k}: {old} -> {to}")
    else:
        print("\nevery group is in one part of the split")
    print("parts: " + ", ".join(f"{p} {len(new[p])}" for p in new))
    if args.write:
        about = json.loads(SPLIT_FILE.read_text(encoding="utf-8"))["about"]
        data = {"about": about, **new, "groups": groups}
        SPLIT_FILE.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {SPLIT_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
