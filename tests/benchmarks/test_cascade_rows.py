"""The cascade's figures in the benchmark tables (issue 17): per-path share and p50/p99 in
`triage bench latency`, full vs cascade macro-F1 per dataset in `triage bench accuracy`."""

from __future__ import annotations

from benchmarks.accuracy import cascade_result
from benchmarks.report import cascade_rows, latency_rows


def _latency(paths: dict) -> dict:
    service = {"p50_ms": 4.0, "p99_ms": 9.0, "server_timing_p50_ms": 3.0}
    return {
        "startup": {"ready_s": 1.0},
        "single": {"service": service, "encoder": {"p50_ms": 8.0, "p99_ms": 11.0}},
        "p50_over_encoder_p50": 0.5,
        "paths": paths,
        "batch": {"tickets_per_s": 320.0},
        "concurrent": {"concurrency": 32, "duration_s": 60.0, "req_per_s": 200.0, "errors": 0},
        "memory_after": {"rss_mb": 300.0, "peak_rss_mb": 320.0},
        "targets": {"p50_ms<=6": True, "p99_ms<=15": True, "batch>=300/s": True},
        "sweep": [],
    }


def test_latency_rows_give_each_paths_share_and_percentiles() -> None:
    paths = {
        "tickets": 400,
        "paths": {
            "cheap": {"share": 0.75, "p50_ms": 2.5, "p99_ms": 6.25},
            "full": {"share": 0.25, "p50_ms": 11.0, "p99_ms": 19.5},
        },
    }
    rows = {name: (value, met) for name, value, _, met in latency_rows(_latency(paths))}
    assert rows["path cheap (400 tickets, c=1)"][0] == "75.0% of tickets, p50 2.50 / p99 6.25 ms"
    assert rows["path full (400 tickets, c=1)"][0] == "25.0% of tickets, p50 11.00 / p99 19.50 ms"
    assert rows["issue 17: c=1 p50 / p99, batch"] == ("4.00 / 9.00 ms, 320 tickets/s", True)


def test_a_result_without_paths_still_prints() -> None:
    rows = latency_rows({**_latency({}), "paths": {}})
    assert not any(name.startswith("path ") for name, *_ in rows)


def test_cascade_rows_compare_full_and_cascade_per_dataset_head() -> None:
    section = {
        "encoder": {"name": "m-static256"},
        "heads": [{"name": "team", "cascade_threshold": 0.8}, {"name": "priority"}],
        "validation": {"cheap_share": 0.6},
        "test": {
            "cheap_share": 0.55,
            "heads": {
                "team": {"macro_f1_full": 0.50, "macro_f1_cascade": 0.498},
                "priority": {"macro_f1_full": 0.40, "macro_f1_cascade": 0.39},
            },
        },
    }
    results = {
        "results": [
            {"dataset": "a", "cascade": cascade_result(section)},
            {"dataset": "b", "cascade": cascade_result(None)},
        ]
    }
    assert cascade_rows(results) == [
        ("a", "team", 0.50, 0.498, 0.55, True),
        ("a", "priority", 0.40, 0.39, 0.55, False),
    ]
    assert cascade_result(section)["thresholds"] == {"team": 0.8, "priority": None}
