"""`ddc-sm eval` reports how human and generated charts play (footing tech, streams, rests) per difficulty."""

import math

from ddc_sm.pipeline.evaluate import PLAY_KEYS, evaluate, format_summary

from tests.test_placement import _write_song


def test_eval_reports_tech_for_human_and_generated_charts(tmp_path, monkeypatch):
    monkeypatch.setenv("DDC_SM_CACHE", str(tmp_path / "cache"))
    pack = tmp_path / "pack"
    _write_song(pack / "Songs" / "a", 120.0, 0)  # human Easy: quarters, Hard: 8ths, both Left-Down alternating
    report = evaluate([pack], generate=True)
    summary = report.summary()
    for d in ("Easy", "Hard"):
        s = summary[f"difficulty:{d}"]
        # alternating Left and Down from the first measure to the last: one foot each, nothing to cross or jack
        for k in PLAY_KEYS:
            assert s[f"human_{k}"] == 0.0, (d, k)
            assert not math.isnan(s[f"generated_{k}"]), (d, k)
    text = format_summary(report)
    assert "how the charts play" in text and "fswitch" in text
