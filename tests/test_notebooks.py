"""notebooks/ run end to end on small data (a real kernel, every cell), so they never rot.

Each notebook has one cell tagged `parameters`; the test replaces its source with small
values (300 demo tickets, no encoder) the way papermill would, and runs the notebook
with nbclient in a temporary folder. A cell that raises fails the test with its traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="needs the dev extra (nbformat, nbclient)")
nbclient = pytest.importorskip("nbclient", reason="needs the dev extra (nbformat, nbclient)")

pytestmark = pytest.mark.slow  # a kernel start and a small training run each

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def run_notebook(name: str, parameters: str, cwd: Path):  # type: ignore[no-untyped-def]
    """Execute notebooks/NAME with its parameter cell replaced; returns the executed notebook."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name}: expected one cell tagged 'parameters'"
    tagged[0].source = parameters
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return notebook


def outputs_text(notebook) -> str:  # type: ignore[no-untyped-def]
    """Everything the cells printed or displayed as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def images(notebook) -> int:  # type: ignore[no-untyped-def]
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )


@pytest.mark.parametrize("name", ["retraining.ipynb", "benchmark_review.ipynb"])
def test_notebooks_are_stored_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.fixture(scope="module")
def retrained(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The retraining walkthrough run on 300 demo tickets, TF-IDF only."""
    cwd = tmp_path_factory.mktemp("retraining")
    notebook = run_notebook(
        "retraining.ipynb",
        'TICKETS = 300\nDATA = None\nENCODER = "none"\nWORK = "work"\nSEED = 3\n',
        cwd,
    )
    return cwd / "work", notebook


def test_the_retraining_walkthrough_trains_and_scores(retrained) -> None:
    work, notebook = retrained
    assert (work / "bundle" / "manifest.json").is_file()
    text = outputs_text(notebook)
    assert "300 tickets" in text and "macro-F1" in text
    assert "category" in text and "confidence" in text  # the scored ticket
    assert images(notebook) >= 4  # the primary head's plots


def test_the_benchmark_review_reads_a_run(retrained, tmp_path: Path) -> None:
    from benchmarks.accuracy import run_accuracy
    from benchmarks.config import load_config
    from triage.settings import Settings

    work, _ = retrained
    (tmp_path / "bench.toml").write_text(
        f'[datasets.desk]\nsource = "{work / "desk.parquet"}"\nformat = "parquet"\n'
        f'kb = "{work / "desk.kb.parquet"}"\nheads = ["category", "escalation"]\n'
    )
    run = run_accuracy(
        list(load_config(tmp_path / "bench.toml").values()), tmp_path / "run", encoder=None,
        settings=Settings(_env_file=None, embedding_cache_dir=tmp_path / "embeddings"), track=False,
    )  # fmt: skip
    notebook = run_notebook(
        "benchmark_review.ipynb", f'RESULTS = "{run.path.parent}"\nMISTAKES = 5\n', tmp_path
    )
    text = outputs_text(notebook)
    assert "test tickets wrong" in text and "no latency.json" in text
    # category (4 charts), escalation (5 with the ROC), auto-reply recall@k.
    assert images(notebook) == 10
    assert (run.path.parent / "report.html").is_file()
