"""The tree passes the linter and formatter the README's Development section names."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]])
def test_the_tree_passes_ruff(command):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command], cwd=REPO, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout + result.stderr
