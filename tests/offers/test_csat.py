from datetime import datetime

import pytest
from sqlalchemy import select

from offers import schema
from offers.csat import record_csat
from offers.errors import InputError
from tests.feedback import add_request

AT = datetime(2024, 3, 1, 12)


def answers(store) -> list[tuple]:
    table = schema.csat_answers
    query = select(
        table.c.request_id,
        table.c.shop_id,
        table.c.customer_id,
        table.c.score,
        table.c.at,
        table.c.holdout,
    ).order_by(table.c.request_id)
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def test_record_csat_copies_customer_and_arm_from_the_request(store) -> None:
    add_request(store, "r1", AT, customer_id="c1", holdout=True)
    assert record_csat(store, "shop", "r1", 4, AT) is True
    assert answers(store) == [("r1", "shop", "c1", 4, AT, True)]


def test_record_csat_keeps_the_first_answer(store) -> None:
    add_request(store, "r1", AT)
    assert record_csat(store, "shop", "r1", 2, AT) is True
    assert record_csat(store, "shop", "r1", 5, AT) is False
    assert [row[3] for row in answers(store)] == [2]


@pytest.mark.parametrize(
    ("shop_id", "request_id"),
    [
        pytest.param("shop", "nope", id="unknown request"),
        pytest.param("other", "r1", id="other shop"),
    ],
)
def test_record_csat_drops_an_answer_to_a_request_the_shop_never_made(
    store, shop_id, request_id
) -> None:
    add_request(store, "r1", AT)
    assert record_csat(store, shop_id, request_id, 3, AT) is False
    assert answers(store) == []


def test_record_csat_with_a_known_customer_and_arm_needs_no_request(store) -> None:
    assert record_csat(store, "shop", "r9", 1, AT, customer_id="c9", holdout=False) is True
    assert answers(store) == [("r9", "shop", "c9", 1, AT, False)]


@pytest.mark.parametrize(
    "score",
    [
        pytest.param(0, id="0"),
        pytest.param(6, id="6"),
        pytest.param(2.5, id="float"),
        pytest.param(True, id="bool"),
        pytest.param("3", id="text"),
    ],
)
def test_record_csat_rejects_a_score_outside_1_to_5(store, score) -> None:
    add_request(store, "r1", AT)
    with pytest.raises(InputError) as raised:
        record_csat(store, "shop", "r1", score, AT)
    assert raised.value.field == "score"
