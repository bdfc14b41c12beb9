"""The offer-performance notebook runs top to bottom on small data, and shows the right figures."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from offers.store import Store
from offers.synthetic import generate_shop
from tests.feedback import seed_known_feedback

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "offer_performance.ipynb"


def run_notebook(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """Execute the notebook with ``env`` set; return its text output, joined, and its plots."""
    for name in ("ENCORE_DATABASE_URL", "ENCORE_DATA_DIR", "ENCORE_SINCE", "ENCORE_UNTIL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    repo = NOTEBOOK.parents[1]
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))
    )
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(repo)}}
    )
    client.execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    texts = [
        output.get("text", "") or output.get("data", {}).get("text/plain", "") for output in outputs
    ]
    n_plots = sum("image/png" in output.get("data", {}) for output in outputs)
    return "\n".join(texts), n_plots


def test_notebook_reads_a_store_and_shows_the_holdout_lift(tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'encore.db'}"
    store = Store.open(url)
    seed_known_feedback(store)
    store.close()
    env = {
        "ENCORE_DATABASE_URL": url,
        "ENCORE_SHOP_ID": "shop",
        "ENCORE_SINCE": "2024-03-01",
        "ENCORE_UNTIL": "2024-03-03",
    }
    output, n_plots = run_notebook(env, monkeypatch)
    assert n_plots == 3
    assert "2024-03-01 to 2024-03-03" in output
    assert "RPT difference (exposed - holdout): 16833.33" in output
    assert "CSAT difference (exposed - holdout): 1.0" in output
    assert "12500.0" in output  # the total RPT


def test_notebook_runs_on_a_generated_shop_and_leaves_no_scratch_files(
    tmp_path: Path, monkeypatch
) -> None:
    summary = generate_shop(tmp_path / "shop", n_orders=800, seed=3)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {
        "ENCORE_DATA_DIR": str(tmp_path / "shop"),
        "ENCORE_SHOP_ID": "demo",
        "TMPDIR": str(scratch),
    }
    output, n_plots = run_notebook(env, monkeypatch)
    assert summary.n_impressions > 0
    assert f"generated log in {tmp_path / 'shop'}" in output
    assert "holdout share of transactions" in output
    assert n_plots == 3
    assert list(scratch.iterdir()) == []
