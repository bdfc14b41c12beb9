"""The lookup tables built from order history."""

import numpy as np
import pytest
import scipy.sparse as sp

from ranker.index import Neighbours, _copurchase, build_index
from ranker.interactions import from_lines


def strongest_by_hand(counts: np.ndarray, sku_orders: np.ndarray, n_top: int) -> list[list[int]]:
    """Each sku's ``n_top`` neighbours by cosine, best first, ties by smaller sku."""
    return [
        sorted(
            (b for b in range(len(counts)) if b != a and counts[a, b] > 0),
            key=lambda b, a=a: (-counts[a, b] / np.sqrt(sku_orders[a] * sku_orders[b]), b),
        )[:n_top]
        for a in range(len(counts))
    ]


@pytest.mark.parametrize("n_top", [1, 3, 50])
def test_copurchase_keeps_each_skus_strongest_links_ties_going_to_the_smaller_sku(
    n_top: int,
) -> None:
    rng = np.random.default_rng(n_top)
    baskets = sp.csr_matrix((rng.random((300, 40)) < 0.1).astype(np.float64))  # many ties
    sku_orders = np.asarray(baskets.sum(axis=0)).ravel()

    found: Neighbours = _copurchase(baskets, sku_orders, n_top)

    expected = strongest_by_hand((baskets.T @ baskets).toarray(), sku_orders, n_top)
    rows = [found.sku[found.indptr[a] : found.indptr[a + 1]].tolist() for a in range(40)]
    assert rows == expected
    counts = (baskets.T @ baskets).toarray()
    a_of = np.repeat(np.arange(40), np.diff(found.indptr))
    np.testing.assert_array_equal(found.count, counts[a_of, found.sku])
    np.testing.assert_allclose(
        found.lift, counts[a_of, found.sku] * 300 / (sku_orders[a_of] * sku_orders[found.sku])
    )


def test_next_order_links_are_the_share_of_an_orders_skus_bought_in_the_customers_next_order(
    make_lines,
) -> None:
    log = from_lines(
        make_lines(
            [
                ("o1", "c1", 0, "A"),
                ("o2", "c1", 1, "B"),
                ("o3", "c1", 2, "A"),
                ("o4", "c1", 3, "C"),
                ("o5", "c2", 0, "A"),
                ("o6", "c2", 1, "B"),
                ("o6", "c2", 1, "C"),
            ]
        )
    )  # A is followed three times: by B twice, by C twice (ties go to the smaller sku)

    links = build_index(log).next_order
    a = list(log.skus).index("A")

    assert [log.skus[b] for b in links.sku[links.indptr[a] : links.indptr[a + 1]]] == ["B", "C"]
    np.testing.assert_allclose(links.strength[links.indptr[a] : links.indptr[a + 1]], [2 / 3] * 2)
    np.testing.assert_array_equal(links.count[links.indptr[a] : links.indptr[a + 1]], [2, 2])
