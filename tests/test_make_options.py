"""make's --finest (note values) and --title/--artist/--subtitle, with the shipped weights on the fixture song."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from ddc_sm.commands.cli import main
from ddc_sm.simfiles.compat import import_simfile
from ddc_sm.timing.grid import GRID_RULES, NOTE_VALUES, GridRule, limit_rule, parse_note_value

sf = import_simfile()
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "synth_128bpm.ogg"


def make(*args):
    with pytest.raises(SystemExit) as exc:
        main(["make", *map(str, args), "--quiet"])
    return exc.value.code


def test_note_value_names():
    assert [parse_note_value(v) for v in ("4th", "8", "16th", "1/16", "32nd", "64TH")] == [4, 8, 16, 16, 32, 64]
    for bad in ("12th", "24", "3", "sixteenth", ""):
        with pytest.raises(ValueError, match="no triplets"):
            parse_note_value(bad)


def test_limit_rule_caps_and_never_refines():
    challenge = GRID_RULES["Challenge"]
    assert limit_rule(challenge, 16) == GridRule((1, 2, 4), Fraction(1, 4))
    assert limit_rule(challenge, 64) == challenge
    assert limit_rule(GRID_RULES["Easy"], 64) == GRID_RULES["Easy"]  # a cap, not a finer grid
    assert limit_rule(GRID_RULES["Hard"], 4) == GridRule((1,), Fraction(1))
    assert limit_rule(challenge, None) is challenge
    assert set(NOTE_VALUES) == {4, 8, 16, 32, 64}


@pytest.fixture()
def song(copy_fixture_song):
    return copy_fixture_song('Downloads/Numb [Official Music Video] - Linkin Park.ogg')


def test_a_chart_made_with_finest_has_no_finer_notes(song):
    assert make(song, "-d", "hard,challenge", "--finest", "8th") == 0
    for kind in ("sm", "ssc"):
        sim = sf.open(str(song.with_suffix(f".{kind}")))
        assert {c.difficulty for c in sim.charts} == {"Hard", "Challenge"}
        for chart in sim.charts:
            beats = sorted({Fraction(n.beat) for n in sf.notes.NoteData(chart)})
            assert len(beats) > 10
            assert all((b * 2).denominator == 1 for b in beats), chart.difficulty  # eighths at most
            assert min(b - a for a, b in zip(beats, beats[1:])) >= Fraction(1, 2)


def test_title_and_artist_from_a_video_site_file_name(song):
    assert make(song, "-d", "beginner") == 0
    for kind in ("sm", "ssc"):
        sim = sf.open(str(song.with_suffix(f".{kind}")))
        assert (sim.title, sim.artist, sim.subtitle) == ("Numb", "Linkin Park", "")


def test_title_artist_subtitle_options(song):
    assert make(song, "-d", "beginner", "--title", "Numb", "--artist", "LINKIN PARK", "--subtitle", "(Live)") == 0
    for kind in ("sm", "ssc"):
        sim = sf.open(str(song.with_suffix(f".{kind}")))
        assert (sim.title, sim.artist, sim.subtitle) == ("Numb", "LINKIN PARK", "(Live)")
