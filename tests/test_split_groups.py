"""The split keeps songs that are the same music in one part; the grouping script's pieces behave."""

import numpy as np

from benchmarks import split_groups as sg
from ddc_sm.simfiles.splits import PARTS, load_split, part_of, song_groups


def test_every_group_of_the_split_file_is_in_one_part():
    split = load_split()
    groups = song_groups()
    assert groups, "the split file records its groups"
    for group in groups:
        assert len({part_of(k, split) for k in group}) == 1, group
    keys = [k for p in PARTS for k in split[p]]
    assert len(keys) == len(set(keys))


def test_the_versions_the_issue_names_share_a_part():
    # issue #12: kyoto_meme is an extended edit of Kyoto; Top of The World has a remix
    split = load_split()
    for a, b in [("Hodobox/Kyoto", "Hodobox/kyoto_meme"),
                 ("Thumbsy/[2015.06.09] Top of The World (nanobii Remix) [Thumbsy]",
                  "Thumbsy/[2015.06.25] Top of The World [Thumbsy]")]:
        assert part_of(a, split) == part_of(b, split) != "test"


def test_titles_of_versions_relate_and_others_do_not():
    t = sg.normalised_title
    assert sg.titles_relate(t("Top of The World (nanobii Remix) [Thumbsy]"), t("Top of The World")) == "same"
    assert sg.titles_relate(t("Pretty Little Psycho (Nightcore)"), t("Pretty Little Psycho")) == "same"
    assert sg.titles_relate(t("Kyoto"), t("Kyoto special ed.")) == "same"
    assert sg.titles_relate(t("Go Go Go"), t("Go Go Go Go Go")) == "extends"
    assert sg.titles_relate(t("Numb"), t("Sonne")) is None
    assert sg.titles_relate(t("Up"), t("Up Town Girl")) is None  # too short a prefix to say


def test_audio_agreement_finds_a_cut_transposed_copy_and_not_another_song():
    rng = np.random.default_rng(0)
    heard = np.ones(200, dtype=bool)
    song = sg._normalised(rng.random((200, 12)), heard)
    other = sg._normalised(rng.random((200, 12)), heard)
    cut = np.roll(song[40:160], 3, axis=1)  # an edit: 120 beats of the middle, three semitones up
    assert sg.agreement(song, cut) > 0.99
    assert sg.agreement(song, other) < 0.3
    # a chart at twice the other's BPM: each beat of one is two of the other
    doubled = np.repeat(song, 2, axis=0)
    assert sg.song_agreement(doubled, song) > 0.95


def test_a_group_moves_to_its_earliest_part_and_nothing_else_moves():
    split = {"train": ["p/a", "p/x"], "valid": ["p/b"], "test": ["p/c", "p/d"]}
    new, moves = sg.regrouped_split(split, [["p/a", "p/c"], ["p/b", "p/d"]])
    assert new == {"train": ["p/a", "p/c", "p/x"], "valid": ["p/b", "p/d"], "test": []}
    assert sorted(moves) == [("p/c", "test", "train"), ("p/d", "test", "valid")]
