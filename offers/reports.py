"""Online performance: what ``GET /v1/report``, the dashboard and the notebook show.

Definitions, as decided:

- a *transaction* is one confirmed order that called the API, holdout ones
  included: the distinct order ids of the requests (a request without one counts
  alone). A customer back on the order's page later (from the confirmation email,
  say) asks again for the same order, which stays one transaction; grouped by
  ``day``, ``placement`` or ``model_version``, an order counts in each group it
  was ranked in;
- everything is attributed to its transaction: an impression, event or conversion
  counts in the period (and on the day) of the request it belongs to, so a click
  the morning after a late-night order still counts with that order;
- *impressions* are offers served (rows of ``impressions``), *views* viewable
  impressions (``view`` events), *clicks* and *dismissals* the ``click`` and
  ``dismiss`` events, *conversions* and *revenue* the recorded conversions of
  exposed transactions: a holdout customer who bought an offer's product anyway
  was shown nothing, so that purchase counts only in the ``holdout`` comparison;
- ``ctr`` = clicks / impressions, ``conversion_rate`` = conversions / clicks,
  ``rpt`` = revenue / transactions x 1000 (revenue per thousand transactions);
  a ratio with a zero denominator is ``None`` (no data, not zero);
- ``kind`` is the kind the offer was shown as; for a conversion without an
  impression (one a shop's server attributed by the offer's id), the catalog's
  kind of the offer;
- grouped by ``offer`` or ``kind``, every group's ``transactions`` is all the
  period's transactions, so a group's ``rpt`` is its share of the total ``rpt``;
  grouped by ``placement``, ``model_version`` or ``day``, it is the group's own;
- ``holdout`` compares the exposed arm with the holdout arm: revenue per
  transaction (and RPT) with the difference and a 95% confidence interval (normal
  approximation with Welch's unequal-variance standard error), and the mean CSAT
  answer of each arm with its difference and interval (the first answer of each
  transaction: a customer back on the order's page is asked again).

Every figure is one SQL aggregate (SQLAlchemy Core), the same on SQLite and PostgreSQL.
"""

import csv
import io
import math
from collections.abc import Mapping
from datetime import date
from statistics import NormalDist
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, case, func, literal, select
from sqlalchemy.engine import Connection

from offers import schema
from offers.cells import as_text_cell
from offers.dates import midnight
from offers.errors import InputError
from offers.holdout import bought_anyway
from offers.store import Store

GROUP_BY = ("offer", "kind", "placement", "model_version", "day")
COUNTS = ("transactions", "impressions", "views", "clicks", "dismissals", "conversions")
FIELDS = (*COUNTS, "revenue", "ctr", "conversion_rate", "rpt")
_EVENT_COUNTS = {"views": "view", "clicks": "click", "dismissals": "dismiss"}
_Z95 = NormalDist().inv_cdf(0.975)


def report(
    store: Store, shop_id: str, since: date, until: date, group_by: str | None = None
) -> dict[str, Any]:
    """``{since, until, totals, groups: [{key, ...}], holdout}`` for days ``since``..``until``.

    Both days are included. ``group_by`` is one of :data:`GROUP_BY`, or None for
    totals only (``groups`` is then empty).
    """
    if group_by is not None and group_by not in GROUP_BY:
        raise InputError(f"`group_by` must be one of {', '.join(GROUP_BY)}", field="group_by")
    if until < since:
        raise InputError("`until` must not be before `since`", field="until")
    window = _Window(shop_id, since, until)
    with store.engine.connect() as connection:
        totals = _measure(connection, window, None)[None]
        groups = _measure(connection, window, group_by) if group_by else {}
        holdout = _holdout(connection, window)
    if group_by in ("offer", "kind"):
        for counts in groups.values():
            counts["transactions"] = totals["transactions"]
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "totals": _with_rates(totals),
        "groups": [
            {"key": key, **_with_rates(counts)}
            for key, counts in sorted(
                groups.items(), key=lambda item: (item[0] is None, str(item[0]))
            )
        ],
        "holdout": holdout,
    }


def report_csv(result: Mapping[str, Any]) -> str:
    """The groups of a :func:`report`, one CSV row each, then the totals.

    The first column says which a row is (``group`` or ``total``): a key cannot, as an
    offer, placement or model version may be called ``total``.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # so a cell holding either is quoted
    writer.writerow(["row", "key", *FIELDS])
    labelled = [("group", group) for group in result["groups"]]
    for label, row in [*labelled, ("total", {"key": None, **result["totals"]})]:
        figures = (as_text_cell(row[name]) for name in FIELDS)
        writer.writerow([label, as_text_cell(row["key"]), *figures])
    return out.getvalue()


class _Window:
    """One shop's transactions on days ``since``..``until``, both included."""

    def __init__(self, shop_id: str, since: date, until: date) -> None:
        self.shop_id = shop_id
        requests = schema.rank_requests
        self.condition = and_(
            requests.c.shop_id == shop_id,
            requests.c.at >= midnight(since),
            requests.c.at < midnight(until, days_later=1),
        )
        # Feedback comes after its request: a lower bound on its own time lets the
        # (shop_id, time) indexes skip older rows. A day of slack covers clock skew.
        self.feedback_since = midnight(since, days_later=-1)

    def of(self, table: Any) -> ColumnElement[bool]:
        """This shop's rows of a feedback table that may belong to the window's requests."""
        moment = table.c.shown_at if table is schema.impressions else table.c.at
        return and_(table.c.shop_id == self.shop_id, moment >= self.feedback_since)


def _measure(
    connection: Connection, window: _Window, group_by: str | None
) -> dict[Any, dict[str, Any]]:
    """Every count and the revenue per group key (key None when not grouped)."""
    requests, impressions = schema.rank_requests, schema.impressions
    events, conversions = schema.events, schema.conversions
    sources: list[tuple[Any, dict[str, ColumnElement]]] = [
        (requests, {"transactions": func.count(func.distinct(_transaction()))}),
        (impressions, {"impressions": func.count()}),
        (events, {name: _count_if(events.c.type == kind) for name, kind in _EVENT_COUNTS.items()}),
        (
            conversions,
            {
                "conversions": func.count(),
                "revenue": func.coalesce(func.sum(conversions.c.revenue), 0.0),
            },
        ),
    ]
    results: dict[Any, dict[str, Any]] = {}
    for table, measures in sources:
        if table is requests and group_by in ("offer", "kind"):
            continue  # every offer or kind group sees all the period's transactions
        key = _key(group_by, table)
        columns = [m.label(name) for name, m in measures.items()]
        query = select(key.label("key"), *columns) if key is not None else select(*columns)
        query = query.select_from(_source(table, group_by)).where(window.condition)
        if table is not requests:
            query = query.where(window.of(table))
        if table is conversions:
            query = query.where(~bought_anyway())
        if key is not None:
            query = query.group_by(key)
        for row in connection.execute(query).mappings():
            counts = results.setdefault(
                _key_value(row.get("key")), dict.fromkeys(COUNTS, 0) | {"revenue": 0.0}
            )
            for name in measures:
                counts[name] = float(row[name]) if name == "revenue" else int(row[name] or 0)
    if group_by is None:
        results.setdefault(None, dict.fromkeys(COUNTS, 0) | {"revenue": 0.0})
    return results


def _transaction() -> ColumnElement[str]:
    """The transaction a request belongs to: its order, else the request alone."""
    requests = schema.rank_requests
    return case(
        (requests.c.order_id != "", literal("order:") + requests.c.order_id),
        else_=literal("request:") + requests.c.id,
    )


def _source(table: Any, group_by: str | None) -> FromClause:
    requests, impressions, offers = schema.rank_requests, schema.impressions, schema.offers
    if table is requests:
        return requests
    source = table.join(requests, requests.c.id == table.c.request_id)
    if group_by == "kind" and table is not impressions:
        shown = and_(
            impressions.c.request_id == table.c.request_id,
            impressions.c.offer_id == table.c.offer_id,
        )
        listed = and_(offers.c.shop_id == table.c.shop_id, offers.c.id == table.c.offer_id)
        source = source.outerjoin(impressions, shown).outerjoin(offers, listed)
    return source


def _key(group_by: str | None, table: Any) -> ColumnElement | None:
    requests, impressions = schema.rank_requests, schema.impressions
    if group_by is None:
        return None
    if group_by == "offer":
        return table.c.offer_id
    if group_by == "kind":
        if table is impressions:
            return impressions.c.kind
        return func.coalesce(impressions.c.kind, schema.offers.c.kind)
    if group_by == "day":
        return func.date(requests.c.at)  # a date in PostgreSQL, 'YYYY-MM-DD' text in SQLite
    return requests.c[group_by]


def _key_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _count_if(condition: ColumnElement[bool]) -> ColumnElement:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _with_rates(counts: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **{name: counts[name] for name in COUNTS},
        "revenue": round(counts["revenue"], 2),
        "ctr": _ratio(counts["clicks"], counts["impressions"]),
        "conversion_rate": _ratio(counts["conversions"], counts["clicks"]),
        "rpt": _ratio(counts["revenue"] * 1000, counts["transactions"], digits=2),
    }


def _ratio(numerator: float, denominator: float, digits: int = 6) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


# holdout


def _holdout(connection: Connection, window: _Window) -> dict[str, Any]:
    requests, conversions, answers = schema.rank_requests, schema.conversions, schema.csat_answers
    per_request = (
        select(
            conversions.c.request_id,
            func.sum(conversions.c.revenue).label("revenue"),
            func.count().label("conversions"),
        )
        .where(window.of(conversions))
        .group_by(conversions.c.request_id)
        .subquery()
    )
    # An order is in one arm: the holdout only if no visit to it was shown offers (a guest
    # checkout, exposed, then the signed-in customer's page, held out, is an exposed order).
    held_out = func.min(case((requests.c.holdout, 1), else_=0)) == 1
    per_transaction = (
        select(
            held_out.label("holdout"),
            func.coalesce(func.sum(per_request.c.revenue), 0.0).label("revenue"),
            func.coalesce(func.sum(per_request.c.conversions), 0).label("conversions"),
        )
        .select_from(requests.outerjoin(per_request, per_request.c.request_id == requests.c.id))
        .where(window.condition)
        .group_by(_transaction())
        .subquery()
    )
    revenue = per_transaction.c.revenue
    money = select(
        per_transaction.c.holdout,
        func.count().label("n"),
        func.sum(revenue).label("total"),
        func.sum(revenue * revenue).label("squares"),
        func.sum(per_transaction.c.conversions).label("conversions"),
    ).group_by(per_transaction.c.holdout)
    # One answer per transaction, in the arm it was asked in: the first, as a customer back
    # on the order's page is asked again.
    first = func.row_number().over(
        partition_by=_transaction(), order_by=[answers.c.at, answers.c.request_id]
    )
    per_transaction_answer = (
        select(answers.c.holdout, answers.c.score, first.label("nth"))
        .select_from(answers.join(requests, requests.c.id == answers.c.request_id))
        .where(window.condition, window.of(answers))
        .subquery()
    )
    score = per_transaction_answer.c.score
    satisfaction = (
        select(
            per_transaction_answer.c.holdout,
            func.count().label("n"),
            func.sum(score).label("total"),
            func.sum(score * score).label("squares"),
        )
        .where(per_transaction_answer.c.nth == 1)
        .group_by(per_transaction_answer.c.holdout)
    )
    arms = {False: {}, True: {}}
    for row in connection.execute(money).mappings():
        arms[bool(row["holdout"])]["revenue"] = _Sample(row["n"], row["total"], row["squares"])
        arms[bool(row["holdout"])]["conversions"] = int(row["conversions"])
    for row in connection.execute(satisfaction).mappings():
        arms[bool(row["holdout"])]["csat"] = _Sample(row["n"], row["total"], row["squares"])
    exposed, held = (_Arm(arms[False]), _Arm(arms[True]))
    n_all = exposed.revenue.n + held.revenue.n
    rpt_diff = _difference(exposed.revenue, held.revenue, scale=1000, digits=2)
    csat_diff = _difference(exposed.csat, held.csat, scale=1, digits=4)
    return {
        "share": _ratio(held.revenue.n, n_all, digits=4),
        "exposed": exposed.as_dict(),
        "holdout": held.as_dict(),
        "difference": {
            "rpt": rpt_diff[0],
            "rpt_ci95": rpt_diff[1],
            "csat_mean": csat_diff[0],
            "csat_mean_ci95": csat_diff[1],
        },
    }


class _Sample:
    """Count, sum and sum of squares of one arm's per-transaction values."""

    def __init__(self, n: Any = 0, total: Any = 0, squares: Any = 0) -> None:
        self.n, self.total, self.squares = int(n or 0), float(total or 0), float(squares or 0)

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        if self.n < 2:
            return None
        return max(self.squares - self.total * self.total / self.n, 0.0) / (self.n - 1)


class _Arm:
    def __init__(self, figures: Mapping[str, Any]) -> None:
        self.revenue: _Sample = figures.get("revenue", _Sample())
        self.csat: _Sample = figures.get("csat", _Sample())
        self.conversions: int = figures.get("conversions", 0)

    def as_dict(self) -> dict[str, Any]:
        mean = self.revenue.mean
        return {
            "transactions": self.revenue.n,
            "conversions": self.conversions,
            "revenue": round(self.revenue.total, 2),
            "revenue_per_transaction": None if mean is None else round(mean, 6),
            "rpt": None if mean is None else round(mean * 1000, 2),
            "csat_mean": None if self.csat.mean is None else round(self.csat.mean, 4),
            "csat_answers": self.csat.n,
        }


def _difference(
    a: _Sample, b: _Sample, *, scale: float, digits: int
) -> tuple[float | None, list[float] | None]:
    """``mean(a) - mean(b)`` and its 95% interval (Welch standard error), times ``scale``."""
    if a.mean is None or b.mean is None:
        return None, None
    difference = (a.mean - b.mean) * scale
    if a.variance is None or b.variance is None:
        return round(difference, digits), None
    standard_error = math.sqrt(a.variance / a.n + b.variance / b.n)
    if standard_error == 0:  # every value alike in both arms (no conversion yet): no evidence
        return round(difference, digits), None
    margin = _Z95 * standard_error * scale
    return round(difference, digits), [
        round(difference - margin, digits),
        round(difference + margin, digits),
    ]
