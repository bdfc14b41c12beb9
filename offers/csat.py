"""The CSAT guardrail: "How was your checkout?" answered 1-5 on the thank-you page.

Offers must not make the checkout feel worse. The widget may ask the question
once per ranked request, holdout customers included (they see only the
question), so the report can compare satisfaction between the two arms.
The first answer to a request counts; later ones are ignored.
"""

from datetime import datetime

from sqlalchemy import literal, select

from offers import schema
from offers.errors import InputError
from offers.store import Store, dialect_insert

MIN_SCORE, MAX_SCORE = 1, 5


def check_score(score: object) -> int:
    """The score as an int in 1..5, or InputError naming the field."""
    if isinstance(score, bool) or not isinstance(score, int) or not MIN_SCORE <= score <= MAX_SCORE:
        raise InputError(
            f"`score` must be an integer from {MIN_SCORE} to {MAX_SCORE}, got {score!r}",
            field="score",
        )
    return score


def record_csat(
    store: Store,
    shop_id: str,
    request_id: str,
    score: int,
    at: datetime,
    *,
    customer_id: str | None = None,
    holdout: bool | None = None,
) -> bool:
    """Store one answer; True when it was stored, False for a repeat or an unknown request.

    With ``customer_id`` and ``holdout`` given (e.g. from a signed token) the answer is
    stored as is; otherwise both are copied from the request's ``rank_requests`` row,
    and an answer to a request this shop never made is dropped.
    """
    score = check_score(score)
    columns = ["request_id", "shop_id", "customer_id", "score", "at", "holdout"]
    with store.engine.begin() as connection:
        insert = dialect_insert(connection, schema.csat_answers)
        if customer_id is not None and holdout is not None:
            values = [request_id, shop_id, customer_id, score, at, holdout]
            statement = insert.values(dict(zip(columns, values, strict=True)))
        else:
            requests = schema.rank_requests
            source = select(
                requests.c.id,
                requests.c.shop_id,
                requests.c.customer_id,
                literal(score),
                literal(at, schema.csat_answers.c.at.type),
                requests.c.holdout,
            ).where(requests.c.id == request_id, requests.c.shop_id == shop_id)
            statement = insert.from_select(columns, source)
        statement = statement.on_conflict_do_nothing(index_elements=["request_id"]).returning(
            schema.csat_answers.c.request_id
        )
        # RETURNING, not rowcount: psycopg reports no rowcount for INSERT ... SELECT.
        return connection.execute(statement).first() is not None
