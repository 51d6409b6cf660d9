"""A song's #TITLE, #SUBTITLE and #ARTIST: from ``--title``/``--artist``/``--subtitle``, the audio's tags, or
its file name.

File names carry no reliable order: ``Artist - Title.ogg`` and ``Title - Artist.ogg`` are both common, and
names saved from video sites carry noise (``[Official Music Video]``, ``(Lyrics)``, ``[HD]``, ``| Label``).
So the noise is removed first, and an ``A - B`` name is split only when something says which side is the title:

1. the song folder is named after one side (``Numb/Linkin Park - Numb.ogg``);
2. only one side had video-site noise attached (``Numb [Official Music Video] - Linkin Park``): it is the title,
   since that noise follows a video's song title;
3. only one side ends in a bracketed part such as ``(Remix)`` (not ``(feat. X)``, which follows either): it
   is the title;
4. only one side names artists against each other (``A vs. B``): it is the artist.

Otherwise the whole cleaned name is the title and the artist is left empty (``make`` says so; pass
``--title``/``--artist``).  Tags are read first: a title tag is used as it is (cleaned of the same noise).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# Words that make up video-site noise in brackets; a bracketed group made only of these, with at least one
# STRONG word, is removed ("(Official Music Video)", "[HD]", "(Lyrics)", "(Audio)", "[4K Remaster]" is not).
NOISE_WORDS = {
    "official", "officiel", "officielle", "oficial", "music", "musica", "video", "vídeo", "videoclip", "clip",
    "audio", "lyric", "lyrics", "letra", "with", "on", "screen", "hd", "hq", "4k", "high", "quality",
    "1080p", "720p", "480p", "360p", "mv", "m/v", "pv", "visualizer", "visualiser", "full", "new", "explicit",
}
STRONG_NOISE = {
    "official", "officiel", "officielle", "oficial", "video", "vídeo", "videoclip", "clip", "audio", "lyric",
    "lyrics", "letra", "hd", "hq", "4k", "1080p", "720p", "480p", "360p", "mv", "m/v", "pv", "visualizer",
    "visualiser",
}
_GROUP = re.compile(r"\s*(?:\(([^()]*)\)|\[([^\[\]]*)\]|【([^【】]*)】|（([^（）]*)）|\{([^{}]*)\})")
_SEPARATOR = re.compile(r"\s+[-–—~]\s+")
_LOOSE_SEPARATOR = re.compile(r"(?<=\S)[-–—]\s+")  # "Artist- Title", used only when there is no " - "
_TRACK_NUMBER = re.compile(r"^\s*\d{1,3}(?:\s*[-._)]\s*|\s+-\s+)(?=\S)")
_LABEL_SUFFIX = re.compile(r"\s+[|｜]\s+.*$")  # "Song (Official Video) | Napalm Records"
_CUT_SUFFIX = re.compile(r"[-_](?:cut|trimmed)$", re.IGNORECASE)
_ARTIST_MARKS = re.compile(r"\svs\.?\s", re.IGNORECASE)  # "A vs. B - Title"; "feat.", "&" and "," are in titles too
_YOUTUBE_ID = re.compile(r"^(?=.*[0-9_-]|.*[A-Z].*[a-z].*[A-Z])[A-Za-z0-9_-]{11}$")


@dataclass(frozen=True)
class SongMeta:
    title: str
    artist: str = ""
    subtitle: str = ""
    source: str = "file name"  # where the title came from, for the log: "tags", "file name", "options", ...


def _is_noise(content: str) -> bool:
    text = content.strip()
    low = text.lower()
    if not low:
        return True
    if _YOUTUBE_ID.match(text) or re.fullmatch(r"\d+\s*kbps", low) or re.fullmatch(r"[\w .]+ release", low):
        return True
    words = [w for w in re.split(r"[\s\-_,.:;!]+", low) if w]
    return bool(words) and all(w in NOISE_WORDS for w in words) and any(w in STRONG_NOISE for w in words)


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"^[-–—~|｜_]+(?:\s+|$)|(?:^|\s+)[-–—~|｜_]+$", "", text).strip()


def clean_part(text: str) -> tuple[str, bool]:
    """``text`` without video-site noise groups; and whether any were removed."""
    removed = False

    def drop(m: re.Match) -> str:
        nonlocal removed
        content = next(g for g in m.groups() if g is not None)
        if _is_noise(content):
            removed = True
            return ""
        return m.group(0)

    out = _GROUP.sub(drop, text)
    return _tidy(out), removed


def _clean_whole(stem: str) -> str:
    """Noise that belongs to the whole name: a trailing ``| Label``, ``-cut``, underscores for spaces."""
    name = unicodedata.normalize("NFC", stem)
    if "_" in name and " " not in name.strip():
        name = name.replace("_", " ")
    name = _LABEL_SUFFIX.sub("", name)
    name = _CUT_SUFFIX.sub("", name.strip())
    name = re.sub(r"\s*[(\[](?:cut|trimmed)[)\]]\s*$", "", name, flags=re.IGNORECASE)
    stripped = _TRACK_NUMBER.sub("", name)
    return stripped if stripped.strip() else name


def _key(text: str) -> str:
    """For comparing names: no brackets, case, spaces or punctuation."""
    text = _GROUP.sub("", text)
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def _ends_in_group(text: str) -> bool:
    """Ends in a bracketed part such as "(Remix)"; not "(feat. X)", which follows titles and artists alike."""
    groups = list(_GROUP.finditer(text))
    if not groups or groups[-1].end() != len(text.rstrip()):
        return False
    content = next(g for g in groups[-1].groups() if g is not None).strip().lower()
    return not re.match(r"(?:feat|ft)\b|featuring\b|with\b", content)


def _split(name: str) -> tuple[str, str] | None:
    for sep in (_SEPARATOR, _LOOSE_SEPARATOR):
        parts = sep.split(name, maxsplit=1)
        if len(parts) == 2 and parts[0].strip() and parts[1].strip():
            return parts[0], parts[1]
    return None


def _folder_key(folder: str) -> str:
    return _key(re.sub(r"^\s*(?:\[[^\]]*\]\s*)+", "", folder))


def meta_from_name(stem: str, folder: str | None = None) -> SongMeta:
    """Title and artist from a file name (without its extension) and, optionally, its song folder's name."""
    name = _clean_whole(stem)
    sides = _split(name)
    if sides is None:
        title, _ = clean_part(name)
        return SongMeta(title or _tidy(stem), "", source="file name")
    (left, left_noise), (right, right_noise) = clean_part(sides[0]), clean_part(sides[1])
    if not left or not right:
        return SongMeta(left or right, "", source="file name")
    title_side = None  # 0: left is the title, 1: right is the title
    why = ""
    fkey = _folder_key(folder) if folder else ""
    if fkey and (fkey == _key(left)) != (fkey == _key(right)):
        title_side, why = (0 if fkey == _key(left) else 1), "the folder's name"
    elif left_noise != right_noise:
        title_side, why = (0 if left_noise else 1), "video-site noise after the title"
    elif _ends_in_group(left) != _ends_in_group(right):
        title_side, why = (0 if _ends_in_group(left) else 1), "a bracketed part after the title"
    else:
        left_artist = bool(_ARTIST_MARKS.search(_GROUP.sub("", left)))
        right_artist = bool(_ARTIST_MARKS.search(_GROUP.sub("", right)))
        if left_artist != right_artist:
            title_side, why = (1 if left_artist else 0), "the side that names artists"
    if title_side is None:
        whole, _ = clean_part(f"{left} - {right}")
        return SongMeta(whole, "", source="file name (artist and title order unclear)")
    title, artist = (left, right) if title_side == 0 else (right, left)
    return SongMeta(title, artist, source=f"file name (order from {why})")


def song_meta(audio_path: str | Path, *, title: str | None = None, artist: str | None = None,
              subtitle: str | None = None, tags: dict[str, str] | None = None) -> SongMeta:
    """The song's metadata: options first, then the audio's tags, then its file and folder name.

    ``tags``: the audio's tags when already read (default: read with :func:`ddc_sm.audio.decode.audio_tags`).
    """
    path = Path(audio_path)
    if tags is None:
        from ddc_sm.audio.decode import audio_tags

        tags = audio_tags(path)
    folder = path.resolve().parent.name if path.parent else None
    guess = meta_from_name(path.stem, folder)
    tag_title = clean_part(tags.get("title", ""))[0]
    tag_artist = tags.get("artist", "").strip()
    if tag_title:
        found_title, found_artist, source = tag_title, tag_artist, "tags"
        if not found_artist:  # the file name's other side, when one side is the tagged title
            sides = _split(_clean_whole(path.stem))
            if sides:
                left, right = clean_part(sides[0])[0], clean_part(sides[1])[0]
                if _key(left) == _key(tag_title) != _key(right):
                    found_artist = right
                elif _key(right) == _key(tag_title) != _key(left):
                    found_artist = left
    elif tag_artist:
        found_title, found_artist, source = guess.title, tag_artist, "file name and artist tag"
        sides = _split(_clean_whole(path.stem))
        if sides:
            left, right = clean_part(sides[0])[0], clean_part(sides[1])[0]
            if _key(left) == _key(tag_artist):
                found_title = right
            elif _key(right) == _key(tag_artist):
                found_title = left
    else:
        found_title, found_artist, source = guess.title, guess.artist, guess.source
    if title is not None or artist is not None:
        source = "options" if title is not None and artist is not None else f"{source}, options"
    return SongMeta(title if title is not None else found_title,
                    artist if artist is not None else found_artist,
                    subtitle if subtitle is not None else "", source)
