"""The three baselines on a shop small enough to rank by hand."""

import numpy as np
import pytest

from ranker.baselines import rank_baseline
from ranker.index import build_index
from ranker.interactions import from_lines
from ranker.splits import queries_from_orders

ROWS = [
    ("o1", "c1", 0, "A"),
    ("o1", "c1", 0, "B"),
    ("o2", "c2", 0, "A"),
    ("o2", "c2", 0, "C"),
    ("o3", "c3", 1, "A"),
    ("o3", "c3", 1, "B"),
    ("o4", "c2", 2, "C"),
    ("o4", "c2", 2, "E"),
    ("o5", "c1", 3, "D"),
    ("o6", "c2", 4, "A"),
]  # orders holding: A 4, C 2, B 2, D 1, E 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("popularity", [["C", "D"], ["A", "B"], ["B", "C"]], id="popularity"),
        pytest.param("co_occurrence", [["C", "D"], ["A", "B"], ["B", "C"]], id="co-occurrence"),
        pytest.param("history", [["D", "C"], ["A", "B"], ["C", "E"]], id="history"),
    ],
)
def test_baseline_rankings(make_lines, name: str, expected: list[list[str]]) -> None:
    log = from_lines(make_lines(ROWS))
    index = build_index(log)
    queries = queries_from_orders(
        log, np.array([0, 4, 5])
    )  # o1 [A, B] by c1, o5 [D] by c1, o6 [A] by c2
    ranked = rank_baseline(name, log, index, queries, k=2)
    assert [[log.skus[code] for code in row] for row in ranked] == expected
