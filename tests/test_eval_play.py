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


def test_eval_of_a_placement_only_folder_scores_selection_with_the_shipped_model(tmp_path, monkeypatch):
    import shutil

    from ddc_sm.weights import SHIPPED_DIR

    monkeypatch.setenv("DDC_SM_CACHE", str(tmp_path / "cache"))
    pack = tmp_path / "pack"
    _write_song(pack / "Songs" / "a", 120.0, 0)
    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copy(SHIPPED_DIR / "placement.pt", weights / "placement.pt")  # what `train placement --out` writes
    report = evaluate([pack], weights_dir=weights, generate=True)
    assert report.charts and all(c.generated is None and c.sel_steps > 0 for c in report.charts)
