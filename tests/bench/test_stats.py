import pytest

from tsunagu.bench.stats import latency_summary, percentile


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 50) == pytest.approx(25.0)
    assert percentile(values, 95) == pytest.approx(38.5)  # rank 2.85: 30 + 0.85 × 10


def test_percentile_ignores_input_order_and_handles_one_value() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([7.0], 99) == 7.0


def test_percentile_matches_numpy_linear() -> None:
    numpy = pytest.importorskip("numpy")
    values = [0.013, 0.2, 0.05, 0.3, 0.031, 0.9, 0.12, 0.07, 0.011]
    for p in (50, 95, 99):
        assert percentile(values, p) == pytest.approx(float(numpy.percentile(values, p)))


@pytest.mark.parametrize("p", [-1, 101])
def test_percentile_refuses_out_of_range(p: float) -> None:
    with pytest.raises(ValueError, match="0–100"):
        percentile([1.0], p)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_latency_summary_in_milliseconds() -> None:
    summary = latency_summary([0.1, 0.2, 0.3, 0.4, 0.5])
    assert summary == {"count": 5, "p50_ms": 300.0, "p95_ms": 480.0, "p99_ms": 496.0, "mean_ms": 300.0,
                       "max_ms": 500.0}
    assert latency_summary([])["p95_ms"] is None
