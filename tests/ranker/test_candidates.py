"""Stage 1: one code path for a batch and for one order; never a basket sku."""

from dataclasses import fields

import numpy as np

from ranker.candidates import Candidates, generate, generate_one
from ranker.features import FEATURES, build_features
from ranker.index import build_index
from ranker.interactions import from_lines
from ranker.splits import next_order_task


def test_a_batch_and_single_queries_give_the_same_candidates_and_features(order_lines) -> None:
    log = from_lines(order_lines)
    cut = log.split_time(0.2)
    index = build_index(log.before(cut))
    task = next_order_task(log, cut)
    queries = task.queries.take(np.arange(40))
    batch = generate(index, queries)
    X = build_features(index, queries, batch, 30.0)
    for q in range(queries.n_queries):
        single = generate(index, queries.take(np.array([q])))
        rows = batch.query == q
        assert single.sku.tolist() == batch.sku[rows].tolist()
        np.testing.assert_allclose(
            build_features(index, queries.take(np.array([q])), single, 30.0), X[rows]
        )
    assert X.shape == (len(batch.sku), len(FEATURES))
    assert np.isfinite(X).all()


def test_candidates_never_include_the_basket(order_lines) -> None:
    log = from_lines(order_lines)
    index = build_index(log)
    task = next_order_task(log.before(log.order_time[-1] - 30), log.order_time[-1] - 60)
    candidates = generate(index, task.queries)
    basket = set(
        zip(task.queries.item_query.tolist(), task.queries.basket_sku.tolist(), strict=True)
    )
    pairs = set(zip(candidates.query.tolist(), candidates.sku.tolist(), strict=True))
    assert pairs and not pairs & basket


def test_the_one_query_path_gives_exactly_the_batch_candidates(order_lines) -> None:
    log = from_lines(order_lines)
    cut = log.split_time(0.2)
    index = build_index(log.before(cut))
    queries = next_order_task(log, cut).queries
    extra = np.array([0, 3, 7, index.n_skus - 1])
    for q in range(min(queries.n_queries, 300)):
        one = queries.take(np.array([q]))
        batch = generate(index, one, extra=(np.zeros_like(extra), extra))
        single = generate_one(index, one, extra=extra)
        for field in fields(Candidates):
            expected, actual = getattr(batch, field.name), getattr(single, field.name)
            assert actual.dtype.kind == expected.dtype.kind, field.name
            np.testing.assert_array_equal(actual, expected, err_msg=field.name)
