"""GET /v1/report after a small scenario driven entirely through the HTTP API.

Every figure of the report is compared with a count made here from what was sent:
rankings (exposed and holdout customers), events, clicks, conversions, CSAT answers.
"""

import itertools
import math
import re
from collections import Counter
from datetime import timedelta
from statistics import NormalDist, mean, variance
from typing import Any

import pytest

from offers.holdout import in_holdout
from offers.store import utcnow
from tests.widget.conftest import PK, SK, auth, flush_log

SHARE = 0.5


def customers(holdout: bool, n: int) -> list[str]:
    """``n`` customer ids on the given side of a holdout of SHARE."""
    ids = (f"report-{i}" for i in itertools.count())
    return list(itertools.islice((c for c in ids if in_holdout(c, SHARE) is holdout), n))


def ratio(numerator: float, denominator: float, digits: int = 6) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def figures(transactions: int, counts: Counter, revenue: float) -> dict[str, Any]:
    return {
        "transactions": transactions,
        "impressions": counts["impressions"],
        "views": counts["views"],
        "clicks": counts["clicks"],
        "dismissals": counts["dismissals"],
        "conversions": counts["conversions"],
        "revenue": round(revenue, 2),
        "ctr": ratio(counts["clicks"], counts["impressions"]),
        "conversion_rate": ratio(counts["conversions"], counts["clicks"]),
        "rpt": ratio(revenue * 1000, transactions, digits=2),
    }


def test_the_report_counts_exactly_what_the_api_was_sent(make_client, rank_body) -> None:
    client = make_client(holdout_share=SHARE)
    today = utcnow().date()
    exposed, held = customers(False, 3), customers(True, 2)

    # rankings: 3 exposed via /v1/rank, 1 holdout via /v1/rank, 1 holdout via /v1/widget
    shown: dict[str, list[dict]] = {}
    for customer in exposed:
        answer = client.post("/v1/rank", json=rank_body(customer), headers=auth(PK)).json()
        assert answer["offers"], f"{customer} was shown nothing"
        shown[customer] = answer["offers"]
    held_answer = client.post("/v1/rank", json=rank_body(held[0]), headers=auth(PK)).json()
    assert held_answer["offers"] == []
    widget = client.post("/v1/widget", json=rank_body(held[1]), headers=auth(PK))
    assert widget.status_code == 200 and widget.json()["offers"] == []
    held_csat_token = re.search(r'data-encore-csat="([^"]+)"', widget.json()["html"]).group(1)
    transactions = {"exposed": 3, "holdout": 2}

    per_offer: dict[str, Counter] = {}
    for offers in shown.values():
        for offer in offers:
            per_offer.setdefault(offer["id"], Counter())["impressions"] += 1

    def count(offer: dict, what: str) -> None:
        per_offer[offer["id"]][what] += 1

    a, b, c = (shown[customer] for customer in exposed)
    # events: impressions (not a report figure), views (one sent twice), a dismissal
    events = [{"type": "impression", "token": o["token"]} for o in a + b + c]
    events += [{"type": "view", "token": o["token"]} for o in a + b[:1]]
    events += [{"type": "view", "token": a[0]["token"]}]  # a repeat counts once
    events += [{"type": "dismiss", "token": c[0]["token"]}]
    response = client.post("/v1/events", json={"events": events}, headers=auth(PK))
    assert response.status_code == 202
    for offer in a + b[:1]:
        count(offer, "views")
    count(c[0], "dismissals")

    # clicks: a[0] twice (one click counts once per token), b[0] once
    for offer in (a[0], a[0], b[0]):
        response = client.get(f"/v1/click/{offer['token']}", follow_redirects=False)
        assert response.status_code == 303, response.text
    count(a[0], "clicks")
    count(b[0], "clicks")

    # conversions with revenue, by token and by request_id + offer_id
    revenue: dict[str, float] = {}

    def convert(offer: dict, amount: float, order_id: str, **by: str) -> None:
        body = {"revenue": amount, "order_id": order_id, **(by or {"token": offer["token"]})}
        response = client.post("/v1/conversions", json=body, headers=auth(SK))
        assert response.status_code == 201, response.text
        count(offer, "conversions")
        revenue[offer["id"]] = revenue.get(offer["id"], 0.0) + amount

    convert(a[0], 19.99, "sale-1")
    convert(b[0], 7.5, "sale-2")
    flush_log(client)  # the impression must be stored to convert by request_id + offer_id
    request_b = client.app_state["service"].signer.verify(b[0]["token"]).request_id
    convert(b[0], 2.25, "sale-3", request_id=request_b, offer_id=b[0]["id"])
    again = {"token": a[0]["token"], "revenue": 19.99, "order_id": "sale-1"}
    assert client.post("/v1/conversions", json=again, headers=auth(SK)).status_code == 200

    # CSAT: an exposed answer (any offer token of the request), a holdout one (the csat token)
    csat = [{"type": "csat", "token": a[1 % len(a)]["token"], "score": 4}]
    csat += [{"type": "csat", "token": held_csat_token, "score": 2}]
    assert client.post("/v1/events", json={"events": csat}, headers=auth(PK)).status_code == 202

    flush_log(client)
    period = f"since={today - timedelta(days=1)}&until={today + timedelta(days=1)}"

    # by offer: each group sees all the period's transactions
    body = client.get(f"/v1/report?{period}&group_by=offer", headers=auth(SK)).json()
    all_transactions = sum(transactions.values())
    total_counts = sum(per_offer.values(), Counter())
    total_revenue = sum(revenue.values())
    assert body["totals"] == figures(all_transactions, total_counts, total_revenue)
    assert body["groups"] == [
        {
            "key": offer_id,
            **figures(all_transactions, per_offer[offer_id], revenue.get(offer_id, 0.0)),
        }
        for offer_id in sorted(per_offer)
    ]

    # by day: one day, its own transactions
    by_day = client.get(f"/v1/report?{period}&group_by=day", headers=auth(SK)).json()
    assert by_day["totals"] == body["totals"]
    assert by_day["groups"] == [
        {"key": today.isoformat(), **figures(all_transactions, total_counts, total_revenue)}
    ]

    # the holdout block
    holdout = body["holdout"]
    assert by_day["holdout"] == holdout
    assert holdout["share"] == round(2 / 5, 4)
    exposed_mean = total_revenue / transactions["exposed"]
    assert holdout["exposed"] == {
        "transactions": 3,
        "conversions": 3,
        "revenue": round(total_revenue, 2),
        "revenue_per_transaction": round(exposed_mean, 6),
        "rpt": round(exposed_mean * 1000, 2),
        "csat_mean": 4.0,
        "csat_answers": 1,
    }
    assert holdout["holdout"] == {
        "transactions": 2,
        "conversions": 0,
        "revenue": 0.0,
        "revenue_per_transaction": 0.0,
        "rpt": 0.0,
        "csat_mean": 2.0,
        "csat_answers": 1,
    }
    assert holdout["difference"]["rpt"] == round(exposed_mean * 1000, 2)
    assert holdout["difference"]["csat_mean"] == 2.0
    assert holdout["difference"]["csat_mean_ci95"] is None  # one answer per arm: no variance
    # Welch 95% interval for RPT, from the per-transaction revenues sent (a, b, c; holdout 0, 0)
    exposed_values, held_values = [19.99, 7.5 + 2.25, 0.0], [0.0, 0.0]
    diff = (mean(exposed_values) - mean(held_values)) * 1000
    margin = (
        NormalDist().inv_cdf(0.975)
        * math.sqrt(variance(exposed_values) / 3 + variance(held_values) / 2)
        * 1000
    )
    assert holdout["difference"]["rpt_ci95"] == pytest.approx(
        [round(diff - margin, 2), round(diff + margin, 2)], abs=0.011
    )
