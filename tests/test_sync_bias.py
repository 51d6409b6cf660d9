"""A pack's sync convention (ddc_sm.timing.sync_convention) and `ddc-sm pack --match-sync`."""

from pathlib import Path

import pytest
from simfile_builders import clean_sm, fake_make_charts, sm_text, write_audio

from ddc_sm.pipeline.pack import run_pack
from ddc_sm.timing.sync_convention import beat_difference, combine, measure_sync_bias, shifted_offset


def test_beat_difference_wraps_and_compares_octaves():
    assert beat_difference(120.0, 0.0, 120.0, -0.009) == pytest.approx(0.009)  # chart beats 9 ms later
    assert beat_difference(120.0, 0.0, 120.0, 0.5 - 0.004) == pytest.approx(0.004)  # one beat apart, 4 ms later
    assert beat_difference(120.0, 0.0, 240.0, -0.25 - 0.005) == pytest.approx(0.005)  # x2 on the same grid
    assert beat_difference(120.0, 0.0, 120.0, -0.05) is None  # 50 ms: another phase, not a convention
    assert beat_difference(120.0, 0.0, 121.0, 0.0) is None  # another tempo


def test_combine_needs_three_songs_and_takes_the_median():
    assert combine([0.01, None, 0.02]) is None
    bias = combine([0.008, 0.010, None, 0.009, 0.030])
    assert bias.seconds == pytest.approx(0.0095) and bias.songs == 4
    assert "ms later" in bias.describe()


def test_shifted_offset_keeps_beat_zero_at_or_before_time_zero():
    assert shifted_offset(120.0, 0.5, 0.009) == pytest.approx(0.491)
    assert shifted_offset(120.0, 0.0, 0.009) == pytest.approx(2.0 - 0.009)  # a measure earlier
    assert shifted_offset(120.0, 1.995, -0.009) == pytest.approx(0.004)


def charted_pack(root: Path, late_s: float = 0.009) -> Path:
    """Three songs charted with beats ``late_s`` after the drums' beats, one song without a chart."""
    pack = root / "Pack"
    for i, bpm in enumerate((120.0, 140.0, 160.0)):
        song = pack / f"Song{i}"
        write_audio(song / "song.ogg", 20.0, bpm)
        (song / "song.sm").write_text(clean_sm(offset=f"{-late_s:.3f}", bpms=f"0.000={bpm:.3f}"), encoding="utf-8")
    write_audio(pack / "New" / "new.ogg", 10.0)
    return pack


def test_measure_sync_bias_finds_the_packs_convention(tmp_path):
    bias = measure_sync_bias([charted_pack(tmp_path)])
    assert bias is not None and bias.songs == 3
    assert bias.seconds == pytest.approx(0.009, abs=0.003)


def test_pack_match_sync_moves_new_charts(tmp_path, capsys):
    pack = charted_pack(tmp_path)
    seen = {}

    def maker(audio_path, difficulties, **kw):
        seen[Path(audio_path).name] = kw.get("offset_shift")
        return fake_make_charts(audio_path, difficulties, **kw)

    assert run_pack(pack, ["Easy"], maker=maker, match_sync=True) == 0
    assert list(seen) == ["new.ogg"] and seen["new.ogg"] == pytest.approx(0.009, abs=0.003)
    assert "--match-sync: the pack's charts put beats" in capsys.readouterr().err
    # without enough charted songs: a note, and the estimate is kept
    other = tmp_path / "Other"
    write_audio(other / "A" / "a.ogg", 10.0)
    (other / "A" / "a.sm").write_text(sm_text([]), encoding="utf-8")
    write_audio(other / "B" / "b.ogg", 10.0)
    seen.clear()
    assert run_pack(other, ["Easy"], maker=maker, match_sync=True) == 0
    assert seen == {"b.ogg": 0.0}
    assert "fewer than 3 charted" in capsys.readouterr().err


def test_make_applies_an_offset_shift_to_the_estimate_only():
    from ddc_sm.audio.decode import load_audio
    from ddc_sm.pipeline.make import MakeResult, _resolve_tempo

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "synth_128bpm.ogg"
    audio = load_audio(fixture)
    quiet = lambda _m: None  # noqa: E731
    bpm, offset = _resolve_tempo(audio, None, None, MakeResult(fixture), quiet)
    bpm2, offset2 = _resolve_tempo(audio, None, None, MakeResult(fixture), quiet, 0.009)
    assert bpm2 == bpm and offset2 == pytest.approx(shifted_offset(bpm, offset, 0.009))
    assert _resolve_tempo(audio, 128.0, 0.25, MakeResult(fixture), quiet, 0.009) == (128.0, 0.25)
