"""The rollout benchmark's arithmetic: windows around a swap and their percentiles."""

from bench.rollout import Record, percentile, windows


def test_percentile_of_nothing_is_zero_and_picks_the_upper_value():
    assert percentile([], 0.99) == 0.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(i) for i in range(100)], 0.99) == 99.0


def test_windows_split_by_start_time_and_count_failures():
    records = [
        Record(start=1.0, seconds=0.010, status=200),
        Record(start=2.0, seconds=0.020, status=200),
        Record(start=5.0, seconds=0.300, status=200),
        Record(start=6.0, seconds=0.050, status=503),
        Record(start=9.0, seconds=0.015, status=200),
    ]
    before, during, after = windows(records, swap_start=4.0, swap_end=8.0)
    assert (before.name, before.requests, before.failures) == ("before", 2, 0)
    assert round(before.max_ms) == 20
    assert (during.requests, during.failures) == (2, 1)
    assert round(during.max_ms) == 300
    assert (after.requests, after.failures, round(after.max_ms)) == (1, 0, 15)
