"""#TITLE/#ARTIST from tags, file names and song folders (ddc_sm.simfiles.song_info)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from ddc_sm.simfiles.song_info import clean_part, meta_from_name, song_meta

PACKS = Path(__file__).resolve().parents[2] / "shared" / "data" / "packs"

# (file stem, song folder name, expected title, expected artist)
CASES = [
    # the case: video-site noise follows the title, so the side that carries it is the title
    ("Numb [Official Music Video] - Linkin Park", "Downloads", "Numb", "Linkin Park"),
    ("Numb [Official Music Video] - Linkin Park", "Numb", "Numb", "Linkin Park"),
    ("Linkin Park - Numb [Official Music Video]", "Downloads", "Numb", "Linkin Park"),
    ("Linkin Park - Numb (Official Video)", "music", "Numb", "Linkin Park"),
    ("Linkin Park - Numb (Lyrics)", "x", "Numb", "Linkin Park"),
    ("Linkin Park - Numb [HD]", "x", "Numb", "Linkin Park"),
    ("Linkin Park - Numb (Official Audio)", "x", "Numb", "Linkin Park"),
    ("Linkin Park - Numb (Official Lyric Video) [4K]", "x", "Numb", "Linkin Park"),
    ("Linkin Park - Numb [dQw4w9WgXcQ]", "x", "Numb", "Linkin Park"),  # yt-dlp's video id
    ("ALESTORM - P.A.R.T.Y. (Official Video) ｜ Napalm Records", "x", "P.A.R.T.Y.", "ALESTORM"),
    ("AronChupa, Flamingoz - Coco Song [Official Music Video]", "x", "Coco Song", "AronChupa, Flamingoz"),
    # the song folder is named after one side
    ("Linkin Park - Numb", "Numb", "Numb", "Linkin Park"),
    ("Numb - Linkin Park", "Numb", "Numb", "Linkin Park"),
    ("Nightcore - Go Go Go", "Go Go Go", "Go Go Go", "Nightcore"),
    ("Masha Ray - Bei Mir Bistu Shein (Electro Swing)", "Bei Mir Bistu Shein", "Bei Mir Bistu Shein (Electro Swing)",
     "Masha Ray"),
    ("Caramella Girls - Caramelldansen (Metal Cover by Little V)", "Caramelldansen (Metal Cover)",
     "Caramelldansen (Metal Cover by Little V)", "Caramella Girls"),
    ("Horkýže Slíže  - Vojtech", "Vojtech", "Vojtech", "Horkýže Slíže"),
    ("Mozart l'opéra rock- Le bien qui fait mal", "Le bien qui fait mal", "Le bien qui fait mal", "Mozart l'opéra rock"),
    ("30 - Boss Fight Strings - Serious Sam 3 BFE OST", "Boss Fight Strings", "Boss Fight Strings",
     "Serious Sam 3 BFE OST"),
    ("Linkin Park - Numb", "[2011.05.24] Numb", "Numb", "Linkin Park"),  # a dated folder
    # a bracketed part (remix, version) follows the title
    ("Chrispy - Inspector Gadget  (Dubstep)", "Inspector Gadget - Chrispy Remix", "Inspector Gadget (Dubstep)",
     "Chrispy"),
    ("Satori Zoom - Buster (Kgs Remix)", "x", "Buster (Kgs Remix)", "Satori Zoom"),
    # the side naming artists against each other is the artist
    ("nora2r vs. BlackY - Light of Playback", "x", "Light of Playback", "nora2r vs. BlackY"),
    # nothing says which side is which: the whole name is the title
    ("Linkin Park - Numb", "Downloads", "Linkin Park - Numb", ""),
    ("Hatsune Miku - Colorful x Colorful", "[2011.09.27] Hatsune Miku - ColorfulxColorful [SkyBlader07]",
     "Hatsune Miku - Colorful x Colorful", ""),
    ("Nightcore - Around The World", "Around the World - nightcore", "Nightcore - Around The World", ""),
    ("Skrillex (ft. Sirah) - Kyoto", "x", "Skrillex (ft. Sirah) - Kyoto", ""),
    ("Flo Rida - Right Round ft. Kesha", "x", "Flo Rida - Right Round ft. Kesha", ""),
    # one-part names: cleaned, never split
    ("Newbie_Melody", "x", "Newbie Melody", ""),
    ("supermassive_black_hole", "x", "supermassive black hole", ""),
    ("Nix gibts (320kbps)", "x", "Nix gibts", ""),
    ("03-soar", "x", "soar", ""),
    ("01. Numb", "x", "Numb", ""),
    ("20kmh", "x", "20kmh", ""),
    ("99 Luftballons", "x", "99 Luftballons", ""),
    ("Crayon-cut", "x", "Crayon", ""),
    ("Tomoe(cut)", "x", "Tomoe", ""),
    ("Statice (XIO Remix)-cut", "x", "Statice (XIO Remix)", ""),
    ("Mecha-Tribe Assault", "x", "Mecha-Tribe Assault", ""),
    ("Lick My Plump Fox Nuts -Short Version-", "x", "Lick My Plump Fox Nuts -Short Version-", ""),
    ("CANDY [PLANET REMIX]", "x", "CANDY [PLANET REMIX]", ""),
    ("Treble, Bass and Attitude", "x", "Treble, Bass and Attitude", ""),
    ("Phases (TBY Romantic Mix)", "x", "Phases (TBY Romantic Mix)", ""),
    ("Butterfly (Upswing Mix) [Remastered]", "x", "Butterfly (Upswing Mix) [Remastered]", ""),
    ("Music (Official Video)", "x", "Music", ""),
    ("(Official Video)", "x", "(Official Video)", ""),  # nothing but noise: keep the name
    ("Song [NCS Release]", "x", "Song", ""),
]


@pytest.mark.parametrize("stem, folder, title, artist", CASES)
def test_title_and_artist_from_file_name(stem, folder, title, artist):
    meta = meta_from_name(stem, folder)
    assert (meta.title, meta.artist) == (title, artist), meta.source


def test_noise_groups():
    assert clean_part("Numb [Official Music Video]") == ("Numb", True)
    assert clean_part("Numb (Official Video HD)") == ("Numb", True)
    assert clean_part("Numb (Live)") == ("Numb (Live)", False)
    assert clean_part("Numb (Music)") == ("Numb (Music)", False)  # no video-site word
    assert clean_part("Numb (feat. Someone)") == ("Numb (feat. Someone)", False)


def _write_tagged(path: Path, **tags):
    with soundfile.SoundFile(str(path), "w", samplerate=8000, channels=1, format="OGG", subtype="VORBIS") as f:
        for key, value in tags.items():
            setattr(f, key, value)
        f.write(np.zeros(800, dtype=np.float32))


def test_tags_come_first(tmp_path):
    song = tmp_path / "Numb" / "Numb [Official Music Video] - Linkin Park.ogg"
    song.parent.mkdir()
    _write_tagged(song, title="Numb (Official Video)", artist="LINKIN PARK")
    meta = song_meta(song)
    assert (meta.title, meta.artist, meta.source) == ("Numb", "LINKIN PARK", "tags")


def test_title_tag_alone_takes_the_artist_from_the_other_side_of_the_name(tmp_path):
    song = tmp_path / "Downloads" / "Linkin Park - Numb.ogg"
    song.parent.mkdir()
    _write_tagged(song, title="Numb")
    meta = song_meta(song)
    assert (meta.title, meta.artist) == ("Numb", "Linkin Park")


def test_artist_tag_alone_takes_the_title_from_the_other_side(tmp_path):
    song = tmp_path / "Downloads" / "Linkin Park - Numb.ogg"
    song.parent.mkdir()
    _write_tagged(song, artist="Linkin Park")
    meta = song_meta(song)
    assert (meta.title, meta.artist) == ("Numb", "Linkin Park")


def test_options_override_tags_and_name(tmp_path):
    song = tmp_path / "Downloads" / "Linkin Park - Numb.ogg"
    song.parent.mkdir()
    _write_tagged(song, title="Numb", artist="Linkin Park")
    meta = song_meta(song, title="Numb (Live)", subtitle="(Live in Texas)")
    assert (meta.title, meta.artist, meta.subtitle) == ("Numb (Live)", "Linkin Park", "(Live in Texas)")
    assert song_meta(song, artist="").artist == ""


@pytest.mark.skipif(not PACKS.is_dir(), reason=f"real packs not found at {PACKS}")
def test_real_song_names_never_swap_title_and_artist():
    """On the real packs' audio file names (tags ignored), a split never puts the human chart's title in
    #ARTIST or its artist in #TITLE."""
    from ddc_sm.simfiles.music import song_music
    from ddc_sm.simfiles.compat import import_simfile

    sf = import_simfile()
    checked = 0
    for simfile in sorted(PACKS.glob("*/*/*.sm")):
        audio = song_music(simfile.parent)
        if audio is None:
            continue
        human = sf.open(str(simfile), strict=False)
        meta = meta_from_name(audio.stem, simfile.parent.name)
        if meta.artist:
            checked += 1
            key = lambda s: "".join(ch for ch in s.casefold() if ch.isalnum())
            assert key(meta.artist) != key(human.title or "") or not human.title, (audio.name, meta)
            assert key(meta.title) != key(human.artist or "") or not human.artist, (audio.name, meta)
    assert checked >= 10
