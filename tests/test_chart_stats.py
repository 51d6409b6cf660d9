from ddc_sm.simfiles.stats import chart_stats, crossover_patterns


def test_crossover_patterns_count_left_middle_right_runs():
    assert crossover_patterns(["1000", "0100", "0001"]) == 1  # L D R
    assert crossover_patterns(["0001", "0010", "1000"]) == 1  # R U L
    assert crossover_patterns(["1000", "0001", "1000"]) == 0  # L R L alternates cleanly
    assert crossover_patterns(["1000", "0100", "1001", "0001"]) == 0  # a jump resets the feet
    assert crossover_patterns(["1000", "0100", "0030", "M000", "0001"]) == 1  # tails and mines are not steps


def test_chart_stats_shares():
    stats = chart_stats([0.0, 0.5, 1.0, 1.5], ["1000", "1001", "2000", "3000"])
    assert stats["steps"] == 3
    assert stats["steps_per_second"] == 2.0
    assert abs(stats["jump_share"] - 1 / 3) < 1e-9
    assert abs(stats["hold_share"] - 1 / 3) < 1e-9


def test_chart_stats_roll_and_mine_shares():
    stats = chart_stats([0.0, 0.5, 1.0, 1.5], ["4000", "3000", "M001", "0M0M"])
    assert stats["steps"] == 2  # the roll head and the tap; mines and tails are not steps
    assert stats["roll_share"] == 0.5 and stats["hold_share"] == 0.5
    assert stats["mine_share"] == 3 / 2


def test_chart_stats_tail_step_share_counts_tails_in_a_row_with_a_step():
    rows = ["2000", "0100", "3010", "0200", "0000", "0301", "2000", "3000"]
    # three tails: one beside a tap (row 2), one beside a tap (row 5), one alone (row 7)
    stats = chart_stats([0.5 * i for i in range(len(rows))], rows)
    assert abs(stats["tail_step_share"] - 2 / 3) < 1e-9
    assert chart_stats([0.0, 0.5], ["1000", "0100"])["tail_step_share"] == 0.0  # no tails
