"""The model-evaluation notebook runs top to bottom on a tiny generated shop."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from offers.synthetic import generate_shop

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "model_evaluation.ipynb"


def test_notebook_compares_the_model_with_the_baselines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate_shop(tmp_path / "shop", n_orders=2_500, seed=3)
    repo = NOTEBOOK.parents[1]
    monkeypatch.setenv("ENCORE_DATA_DIR", str(tmp_path / "shop"))
    monkeypatch.delenv("ENCORE_MODEL_DIR", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))
    )
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(repo)}}
    ).execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    text = "\n".join(
        output.get("text", "") or output.get("data", {}).get("text/plain", "") for output in outputs
    )
    assert "model vs best baseline" in text
    for name in ("popularity", "co_occurrence", "history"):
        assert name in text
    assert sum("image/png" in output.get("data", {}) for output in outputs) == 3
    assert not [output for output in outputs if output.get("output_type") == "error"]
