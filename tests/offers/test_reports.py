import csv
import io
import math
from datetime import date, datetime

import pytest

from offers.csat import record_csat
from offers.errors import InputError
from offers.feedback import FeedbackBatch, record_feedback
from offers.reports import FIELDS, report, report_csv
from tests.feedback import add_conversion, add_impression, add_request
from tests.feedback import seed_known_feedback as seed

SINCE, UNTIL = date(2024, 3, 1), date(2024, 3, 3)
Z95 = 1.959963984540054


def figures(t, i, v, c, d, n, revenue, ctr, cr, rpt) -> dict:
    return {
        "transactions": t,
        "impressions": i,
        "views": v,
        "clicks": c,
        "dismissals": d,
        "conversions": n,
        "revenue": revenue,
        "ctr": ctr,
        "conversion_rate": cr,
        "rpt": rpt,
    }


# r4's conversion is a holdout customer's: it counts in the holdout arm alone.
TOTALS = figures(5, 5, 4, 3, 1, 3, 62.5, 0.6, 1.0, 12500.0)


@pytest.mark.parametrize(
    ("group_by", "groups"),
    [
        pytest.param(None, [], id="totals only"),
        pytest.param(
            "offer",
            [
                {"key": "A", **figures(5, 2, 2, 1, 1, 1, 30.0, 0.5, 1.0, 6000.0)},
                {"key": "B", **figures(5, 2, 2, 1, 0, 1, 20.0, 0.5, 1.0, 4000.0)},
                {"key": "C", **figures(5, 1, 0, 1, 0, 1, 12.5, 1.0, 1.0, 2500.0)},
            ],
            id="offer",
        ),
        pytest.param(
            "kind",
            [
                {"key": "cross_sell", **figures(5, 2, 2, 1, 1, 1, 30.0, 0.5, 1.0, 6000.0)},
                {"key": "partner", **figures(5, 3, 2, 2, 0, 2, 32.5, 0.666667, 1.0, 6500.0)},
            ],
            id="kind",
        ),
        pytest.param(
            "placement",
            [
                {"key": "order_status", **figures(1, 1, 1, 1, 0, 1, 20.0, 1.0, 1.0, 20000.0)},
                {"key": "thank_you", **figures(4, 4, 3, 2, 1, 2, 42.5, 0.5, 1.0, 10625.0)},
            ],
            id="placement",
        ),
        pytest.param(
            "model_version",
            [
                {"key": "v1", **figures(2, 4, 3, 2, 1, 2, 42.5, 0.5, 1.0, 21250.0)},
                {"key": "v2", **figures(3, 1, 1, 1, 0, 1, 20.0, 1.0, 1.0, 6666.67)},
            ],
            id="model_version",
        ),
        pytest.param(
            "day",
            [
                {"key": "2024-03-01", **figures(2, 4, 3, 2, 1, 2, 42.5, 0.5, 1.0, 21250.0)},
                {"key": "2024-03-02", **figures(2, 1, 1, 1, 0, 1, 20.0, 1.0, 1.0, 10000.0)},
                {"key": "2024-03-03", **figures(1, 0, 0, 0, 0, 0, 0.0, None, None, 0.0)},
            ],
            id="day",
        ),
    ],
)
def test_report_figures_match_a_hand_count(store, group_by: str | None, groups: list) -> None:
    seed(store)
    result = report(store, "shop", SINCE, UNTIL, group_by)
    assert (result["since"], result["until"]) == ("2024-03-01", "2024-03-03")
    assert result["totals"] == TOTALS
    assert result["groups"] == groups


def test_report_holdout_compares_the_arms_with_a_95_interval(store) -> None:
    seed(store)
    holdout = report(store, "shop", SINCE, UNTIL)["holdout"]
    # Exposed: r1, r2, r3 earned 30, 12.5, 20; holdout: r4, r5 earned 8, 0.
    exposed, held = [30.0, 12.5, 20.0], [8.0, 0.0]
    assert holdout["share"] == 0.4
    assert holdout["exposed"] == {
        "transactions": 3,
        "conversions": 3,
        "revenue": 62.5,
        "revenue_per_transaction": 20.833333,
        "rpt": 20833.33,
        "csat_mean": 4.0,
        "csat_answers": 2,
    }
    assert holdout["holdout"] == {
        "transactions": 2,
        "conversions": 1,
        "revenue": 8.0,
        "revenue_per_transaction": 4.0,
        "rpt": 4000.0,
        "csat_mean": 3.0,
        "csat_answers": 2,
    }
    margin = Z95 * math.sqrt(_variance(exposed) / 3 + _variance(held) / 2) * 1000
    difference = (62.5 / 3 - 4.0) * 1000
    assert holdout["difference"]["rpt"] == round(difference, 2) == 16833.33
    assert holdout["difference"]["rpt_ci95"] == [
        round(difference - margin, 2),
        round(difference + margin, 2),
    ]
    # CSAT: exposed 5, 3; holdout 4, 2 (r6 is outside the window): each variance 2.
    csat_margin = Z95 * math.sqrt(2 / 2 + 2 / 2)
    assert holdout["difference"]["csat_mean"] == 1.0
    assert holdout["difference"]["csat_mean_ci95"] == [
        round(1.0 - csat_margin, 4),
        round(1.0 + csat_margin, 4),
    ]


def test_an_order_whose_page_is_shown_again_is_one_transaction(store) -> None:
    # Order 1001 is confirmed on March 1, and its customer comes back to its page on March 2
    # (from the confirmation email), buys from the offer shown then and is asked "How was
    # your checkout?" again. Two requests without an order id are two transactions.
    day1, day2 = datetime(2024, 3, 1, 10), datetime(2024, 3, 2, 9)
    add_request(store, "r1", day1, order_id="1001", customer_id="ann")
    add_request(store, "r2", day2, order_id="1001", customer_id="ann")
    add_request(store, "r3", day1, order_id="", customer_id="bob")
    add_request(store, "r4", day1, order_id="", customer_id="cid")
    for request_id, at in (("r1", day1), ("r2", day2)):
        add_impression(store, request_id, "A", at, customer_id="ann")
    add_conversion(store, "r2", "A", 30.0, day2, customer_id="ann")
    for request_id, score, at in (("r1", 2, day1), ("r2", 5, day2), ("r3", 4, day1)):
        record_csat(store, "shop", request_id, score, at)

    result = report(store, "shop", SINCE, UNTIL, "day")

    assert (result["totals"]["transactions"], result["totals"]["impressions"]) == (3, 2)
    assert result["totals"]["rpt"] == 10_000.0
    assert [(g["key"], g["transactions"]) for g in result["groups"]] == [
        ("2024-03-01", 3),
        ("2024-03-02", 1),
    ]
    exposed = result["holdout"]["exposed"]
    assert (exposed["transactions"], exposed["conversions"], exposed["revenue"]) == (3, 1, 30.0)
    assert exposed["revenue_per_transaction"] == 10.0
    assert (exposed["csat_answers"], exposed["csat_mean"]) == (2, 3.0)  # order 1001's first: 2


def test_an_order_shown_offers_as_a_guest_then_held_out_signed_in_is_one_exposed_order(
    store,
) -> None:
    # Order 2001 is ranked for a guest (never held out: shown offers), then on the order page
    # for the signed-in customer, who is in the holdout. Order 2002 is held out alone.
    at = datetime(2024, 3, 1, 10)
    add_request(store, "r1", at, order_id="2001", customer_id="", holdout=False)
    add_request(store, "r2", at.replace(hour=11), order_id="2001", customer_id="ann", holdout=True)
    add_request(store, "r3", at, order_id="2002", customer_id="bo", holdout=True)
    record_csat(store, "shop", "r1", 4, at)
    record_csat(store, "shop", "r2", 2, at.replace(hour=11), holdout=True)
    record_csat(store, "shop", "r3", 5, at, holdout=True)

    result = report(store, "shop", SINCE, UNTIL)

    arms = result["holdout"]
    assert result["totals"]["transactions"] == 2
    assert (arms["exposed"]["transactions"], arms["holdout"]["transactions"]) == (1, 1)
    assert arms["share"] == 0.5
    assert (arms["exposed"]["csat_answers"], arms["exposed"]["csat_mean"]) == (1, 4.0)
    assert (arms["holdout"]["csat_answers"], arms["holdout"]["csat_mean"]) == (1, 5.0)


def test_arms_whose_every_order_earned_the_same_get_no_interval(store) -> None:
    at = datetime(2024, 3, 1, 10)
    for n, holdout in enumerate((False, False, True, True)):
        add_request(store, f"r{n}", at, customer_id=f"c{n}", holdout=holdout)

    difference = report(store, "shop", SINCE, UNTIL)["holdout"]["difference"]

    assert (difference["rpt"], difference["rpt_ci95"]) == (0.0, None)


def test_report_of_an_empty_period_has_zeros_and_no_ratios(store) -> None:
    result = report(store, "shop", SINCE, UNTIL, "day")
    assert result["totals"] == figures(0, 0, 0, 0, 0, 0, 0.0, None, None, None)
    assert result["groups"] == []
    assert result["holdout"]["share"] is None
    assert result["holdout"]["difference"] == {
        "rpt": None,
        "rpt_ci95": None,
        "csat_mean": None,
        "csat_mean_ci95": None,
    }


@pytest.mark.parametrize(
    ("since", "until", "group_by", "field"),
    [
        pytest.param(SINCE, UNTIL, "week", "group_by", id="unknown group"),
        pytest.param(UNTIL, SINCE, None, "until", id="until before since"),
    ],
)
def test_report_rejects_bad_parameters(store, since, until, group_by, field) -> None:
    with pytest.raises(InputError) as raised:
        report(store, "shop", since, until, group_by)
    assert raised.value.field == field


def test_report_csv_has_a_row_per_group_and_a_total(store) -> None:
    seed(store)
    text = report_csv(report(store, "shop", SINCE, UNTIL, "day"))
    assert text.splitlines() == [
        "row,key,transactions,impressions,views,clicks,dismissals,conversions,revenue,ctr,conversion_rate,rpt",
        "group,2024-03-01,2,4,3,2,1,2,42.5,0.5,1.0,21250.0",
        "group,2024-03-02,2,1,1,1,0,1,20.0,1.0,1.0,10000.0",
        "group,2024-03-03,1,0,0,0,0,0,0.0,,,0.0",
        "total,,5,5,4,3,1,3,62.5,0.6,1.0,12500.0",
    ]


def test_report_csv_tells_a_group_named_total_from_the_totals() -> None:
    groups = [{"key": "total", **dict.fromkeys(FIELDS, 1)}]
    text = report_csv({"groups": groups, "totals": dict.fromkeys(FIELDS, 2)})

    rows = list(csv.DictReader(io.StringIO(text)))

    assert [(row["row"], row["key"], row["impressions"]) for row in rows] == [
        ("group", "total", "1"),
        ("total", "", "2"),
    ]


def test_report_csv_writes_text_a_spreadsheet_would_run_as_a_formula_as_text() -> None:
    groups = [
        {"key": key, **dict.fromkeys(FIELDS, -1.5)}
        for key in ('=HYPERLINK("http://evil.example","x")', "+1", "-2+3", "@SUM(A1)", "\tx", "ok")
    ]
    totals = dict.fromkeys(FIELDS, 0)
    rows = list(csv.reader(io.StringIO(report_csv({"groups": groups, "totals": totals}))))
    assert [row[1] for row in rows[1:]] == [
        '\'=HYPERLINK("http://evil.example","x")',
        "'+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "ok",
        "",
    ]
    assert rows[1][2:] == ["-1.5"] * len(FIELDS)  # numbers stay numbers


def test_report_csv_keeps_a_carriage_return_inside_its_cell() -> None:
    # read with universal newlines, an unquoted CR would start a row with the formula
    groups = [{"key": "\r=cmd|' /C calc'!A0", **dict.fromkeys(FIELDS, 1)}]
    text = report_csv({"groups": groups, "totals": dict.fromkeys(FIELDS, 1)})

    rows = list(csv.reader(io.StringIO(text, newline=None)))

    assert [row[1] for row in rows] == ["key", "'\n=cmd|' /C calc'!A0", ""]


def test_a_request_logged_at_midnight_counts_on_its_own_day(store) -> None:
    midnight = datetime(2024, 3, 4)
    request = {
        "id": "r-midnight",
        "shop_id": "shop",
        "at": midnight,
        "placement": "thank_you",
        "order_id": "o-midnight",
        "customer_id": "c1",
        "order_total": 10.0,
        "holdout": False,
        "model_version": "v1",
        "n_offers": 0,
    }
    record_feedback(store, FeedbackBatch(rank_requests=[request]))  # as the service's log writes

    day_before = report(store, "shop", date(2024, 3, 3), date(2024, 3, 3), "day")
    its_day = report(store, "shop", date(2024, 3, 4), date(2024, 3, 4), "day")

    assert day_before["totals"]["transactions"] == 0
    assert its_day["totals"]["transactions"] == 1


def _variance(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def test_a_report_from_the_first_to_the_last_day_there_is_covers_all_time(store) -> None:
    seed(store)
    all_time = report(store, "shop", date.min, date.max, "offer")
    this_century = report(store, "shop", date(2000, 1, 1), date(2099, 12, 31), "offer")
    assert (all_time["since"], all_time["until"]) == ("0001-01-01", "9999-12-31")
    assert all_time["totals"]["transactions"] > TOTALS["transactions"]  # days outside SINCE..UNTIL
    assert {k: all_time[k] for k in ("totals", "groups", "holdout")} == {
        k: this_century[k] for k in ("totals", "groups", "holdout")
    }
