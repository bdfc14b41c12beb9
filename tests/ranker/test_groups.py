"""The group-by helpers the ranker's tables are built with."""

import numpy as np
import pytest

from ranker._groups import top_per_code, top_per_group


@pytest.mark.parametrize(
    ("n_rows", "n_codes", "n_top", "n_scores"),
    [
        pytest.param(5_000, 40, 30, 7, id="large-buckets-with-ties"),
        pytest.param(5_000, 40, 30, 100_000, id="large-buckets-few-ties"),
        pytest.param(300, 200, 3, 4, id="small-buckets-and-empty-codes"),
        pytest.param(50, 10, 100, 5, id="buckets-smaller-than-the-top"),
        pytest.param(0, 5, 3, 1, id="no-rows"),
    ],
)
def test_top_per_code_keeps_the_rows_top_per_group_keeps_in_its_order(
    n_rows: int, n_codes: int, n_top: int, n_scores: int
) -> None:
    rng = np.random.default_rng(n_rows + n_codes)
    code = rng.integers(0, n_codes, n_rows).astype(np.int32)
    score = rng.integers(0, n_scores, n_rows) / n_scores  # few distinct values: ties

    kept = top_per_code(code, n_codes, score, n_top)

    np.testing.assert_array_equal(kept, top_per_group(code, score, n_top))
