"""make --preview, pack --preview and eval --preview write preview pages where they write charts."""

from __future__ import annotations

import pytest

from ddc_sm.commands.cli import main


def run(*args) -> int:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return exc.value.code


def test_make_preview_writes_a_page_of_the_new_charts(copy_fixture_song):
    song = copy_fixture_song("Song/song.ogg")
    assert run("make", song, "-d", "beginner", "--preview", "-q") == 0
    page = song.with_name("song.preview.html")
    text = page.read_text(encoding="utf-8")
    assert '<meta name="generator" content="ddc-sm preview">' in text and "Beginner" in text


def test_pack_preview_and_eval_preview(copy_fixture_song, tmp_path):
    song = copy_fixture_song("P/S/song.ogg")
    assert run("pack", song.parent.parent, "-d", "easy", "--preview", "-q") == 0
    assert song.with_name("song.preview.html").is_file()
    out = tmp_path / "side"
    assert run("eval", song.parent.parent, "--preview", out) == 0  # the pack's charts play the human part
    folder = out / "P - S"
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "human.preview.html" in index and "generated.preview.html" in index
    for name in ("human.preview.html", "generated.preview.html"):
        assert "Easy" in (folder / name).read_text(encoding="utf-8")


def test_eval_preview_needs_generated_charts(tmp_path):
    (tmp_path / "P").mkdir()
    assert run("eval", tmp_path / "P", "--no-generate", "--preview", tmp_path / "out") == 2
    assert not (tmp_path / "out").exists()
