"""`triage rescore` end to end: SIGKILL mid-run and resume, bad input, usage errors, Ray.

The kill test runs the real command in a subprocess with two worker processes, kills
it with SIGKILL once a few chunks are written, checks that its workers die with it,
reruns the same command and checks every ticket is in the results exactly once,
identical to the service's predictor, with only the missing chunks scored again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.cli.conftest import run_cli
from triage.dataset import iter_tickets, write_tickets
from triage.rescore import checkpoint_dir_for
from triage.rescore.results import head_names, results_table

ROOT = Path(__file__).resolve().parents[2]
TICKETS = 300
CHUNK = 5
RAY_CHUNK = 40


@pytest.fixture(scope="module")
def backlog(demo_tickets_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("backlog") / "backlog.parquet"
    write_tickets(path, list(iter_tickets(demo_tickets_file))[-TICKETS:])
    return path


@pytest.fixture(scope="module")
def expected(demo_bundle: Path, backlog: Path) -> pa.Table:
    """What the service's predictor answers for each ticket sent alone (`/v1/triage`), as the
    results file: every graph runs one ticket at a time, so chunking changes no byte."""
    from triage.bundle import load_bundle
    from triage.predictor import OnnxTriager

    triager = OnnxTriager(load_bundle(demo_bundle, threads=1))
    results = [triager.triage(ticket) for ticket in iter_tickets(backlog)]
    return results_table(results, head_names(triager.manifest))


def _command(*args: object) -> list[str]:
    return [sys.executable, "-m", "triage_cli.main", "rescore", *map(str, args)]


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_scores_every_ticket_exactly_once(
    demo_bundle: Path, backlog: Path, expected: pa.Table, tmp_path: Path
) -> None:
    out = tmp_path / "results.parquet"
    command = _command(
        "--bundle",
        demo_bundle,
        "--input",
        backlog,
        "--out",
        out,
        "--workers",
        2,
        "--threads",
        1,
        "--chunk-rows",
        CHUNK,
        "--json",
    )
    parts = checkpoint_dir_for(out) / "parts"
    chunks = TICKETS // CHUNK
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    written: list[Path] = []
    while time.monotonic() < deadline and first.poll() is None:
        written = list(parts.glob("*.parquet")) if parts.is_dir() else []
        if len(written) >= 3:
            break
        time.sleep(0.02)
    workers = _children(first.pid)
    assert first.poll() is None, f"finished or failed before the kill: {first.stderr.read()!r}"
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    first.stderr.close()
    # Its worker processes die with it instead of scoring on beside the rerun.
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers and not any(_alive(p) for p in workers)
    done = len(list(parts.glob("*.parquet")))
    assert 3 <= done < chunks
    assert not out.exists()

    second = subprocess.run(
        command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout.strip().splitlines()[-1])["summary"]
    assert summary["resumed"] == done * CHUNK
    assert summary["scored"] == TICKETS - done * CHUNK
    table = pq.read_table(out)
    ids = table.column("ticket_id").to_pylist()
    assert len(ids) == len(set(ids)) == TICKETS
    assert table.equals(expected)
    assert not checkpoint_dir_for(out).exists()


def test_a_bad_row_exits_2_naming_file_row_and_field(
    demo_bundle: Path,
    tmp_path: Path,
    monkeypatch,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "backlog.jsonl"
    path.write_text(
        '{"id": "A-1", "subject": "Refund", "body": "twice", '
        '"created_at": "2026-01-05T09:00:00Z"}\n'
        '{"id": "A-2", "subject": "Printer", "body": "broken", "created_at": "last tuesday"}\n',
        encoding="utf-8",
    )
    code, _, stderr = run_cli(
        monkeypatch,
        capsys,
        "rescore",
        "--bundle",
        demo_bundle,
        "--input",
        path,
        "--out",
        tmp_path / "results.parquet",
        "--workers",
        1,
    )
    assert code == 2
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    assert str(path) in lines[0] and "row 2" in lines[0] and "created_at" in lines[0]
    assert "Traceback" not in stderr
    assert not (tmp_path / "results.parquet").exists()


def test_the_diff_counts_at_the_models_threshold_unless_one_is_configured(
    demo_bundle: Path,
    backlog: Path,
    tmp_path: Path,
    monkeypatch,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    """`TRIAGE_ESCALATION_RISK_THRESHOLD` unset: the new risks are counted at the thresholds
    the bundle's training chose, as the desk's worker escalates; set, it wins."""
    from triage.settings import get_settings

    manifest = json.loads((demo_bundle / "manifest.json").read_text(encoding="utf-8"))
    heads = [*manifest["heads"], *(manifest.get("cascade") or {}).get("heads", [])]
    chosen = {
        h["risk_threshold"]["value"]
        for h in heads
        if h["name"] == "escalation" and h.get("risk_threshold")
    }
    assert chosen and 0.7 not in chosen
    args = ("rescore", "--bundle", demo_bundle, "--input", backlog, "--workers", 1)
    monkeypatch.delenv("TRIAGE_ESCALATION_RISK_THRESHOLD", raising=False)
    get_settings.cache_clear()
    try:
        code, stdout, stderr = run_cli(
            monkeypatch, capsys, *args, "--out", tmp_path / "a.parquet", "--json"
        )
        assert code == 0, stderr
        risk = json.loads(stdout.strip().splitlines()[-1])["diff"]["escalation"]
        assert risk["threshold_source"] == "model's"
        used = {t["threshold"] for t in risk["thresholds"]["after"]}
        assert used <= chosen
        table = pq.read_table(tmp_path / "a.parquet")
        risks = table.column("escalation_risk").to_pylist()
        thresholds = table.column("escalation_risk_threshold").to_pylist()
        assert risk["at_risk_after"] == sum(r >= t for r, t in zip(risks, thresholds, strict=True))

        monkeypatch.setenv("TRIAGE_ESCALATION_RISK_THRESHOLD", "0.55")
        get_settings.cache_clear()
        code, stdout, stderr = run_cli(monkeypatch, capsys, *args, "--out", tmp_path / "b.parquet")
        assert code == 0, stderr
        flagged = sum(r >= 0.55 for r in risks)
        assert "escalation risk >= 0.55 (the configured threshold): " in stdout
        assert f"{flagged:,} now;" in stdout
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--input", "x.parquet", "--db"], "either --input FILE or --db"),
        (["--input", "x.parquet", "--apply"], "needs --db"),
        (["--db", "--ray-address", "ray://head:10001"], "needs --engine ray"),
    ],
)
def test_usage_errors_exit_2(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    code, _, stderr = run_cli(
        monkeypatch, capsys, "rescore", "--bundle", tmp_path, "--out", tmp_path / "r.parquet", *args
    )
    assert code == 2
    assert message in " ".join(stderr.split())


@pytest.mark.slow
def test_ray_engine_gives_the_local_engines_results(
    demo_bundle: Path, backlog: Path, expected: pa.Table, tmp_path: Path
) -> None:
    """One local Ray instance (2 CPUs, no dashboard), two actors: the same bytes as local."""
    pytest.importorskip("ray.data", reason="the Ray engine needs the ray extra")
    out = tmp_path / "ray.parquet"
    run = subprocess.run(
        _command(
            "--bundle",
            demo_bundle,
            "--input",
            backlog,
            "--out",
            out,
            "--engine",
            "ray",
            "--workers",
            2,
            "--threads",
            1,
            "--chunk-rows",
            RAY_CHUNK,
            "--json",
        ),
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])["summary"]
    assert (summary["engine"], summary["workers"], summary["scored"]) == ("ray", 2, TICKETS)
    assert pq.read_table(out).equals(expected)
