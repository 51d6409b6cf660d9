"""`ddc-sm train jumps`: the jump bias only ever makes charts easier, and brings their jump share down to
the human one."""

import numpy as np

from ddc_sm.pipeline.calibrate_jumps import calibrate, step_jump_share


class FakeSelector:
    """Writes a jump on every k-th step, k growing as the jump bias gets more negative."""

    def __init__(self):
        self.config = {"decode": {}}

    def select(self, feats, times, difficulty, beam_size=20):
        bias = self.config["decode"].get("jump_logit_bias", {}).get(difficulty, 0.0)
        every = 2 + int(round(-4 * bias))  # bias 0: half the steps are jumps
        return ["1001" if i % every == 0 else "1000" for i in range(len(times))]


def charts(n_jump_every: int, n=60, count=3):
    times = np.arange(n) * 0.25
    rows = ["0110" if i % n_jump_every == 0 else "0100" for i in range(n)]
    return [(np.zeros((100, n)), times, rows) for _ in range(count)]


def test_step_jump_share_counts_steps_not_rows():
    assert step_jump_share([["1000", "1001", "0000", "3000", "M000"], ["1100"]]) == 2 / 3


def test_calibration_lowers_jumps_to_the_human_share_and_never_raises_them():
    sel = FakeSelector()
    result = calibrate(sel, {"Medium": charts(10), "Hard": charts(2), "Beginner": []})
    medium = result["Medium"]
    assert medium["before"] == 0.5 and medium["human"] == 0.1
    assert medium["bias"] < 0 and medium["after"] <= medium["human"] and medium["after"] > 0.05
    assert result["Hard"]["bias"] == 0.0  # no more jumps than the human charts already
    assert "Beginner" not in result
    # the chosen biases are left set on the selector
    assert sel.config["decode"]["jump_logit_bias"]["Medium"] == medium["bias"]


def test_cli_errors_are_one_line(tmp_path, capsys):
    import pytest

    from ddc_sm.commands.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "jumps", str(tmp_path / "missing"), "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: pack folder not found: {tmp_path / 'missing'}"]
    assert not (tmp_path / "out").exists()
