from datetime import datetime, timedelta

import pytest
from anyio.from_thread import start_blocking_portal

from offers.caps import cap_violation
from offers.catalog import Caps, Offer
from offers.feedback import FeedbackBatch, record_feedback
from tests.feedback import impression_row
from widget.recent import RecentActivity
from widget.request_ids import worker_tag

NOW = datetime(2026, 6, 1, 12, 0)
CAPPED = Offer(
    id="capped",
    kind="partner",
    title="P",
    advertiser="A",
    value=2.0,
    caps=Caps(per_customer_per_day=1, per_customer_per_week=2, total_impressions=10, budget=5.0),
)
FREE = Offer(id="free", kind="cross_sell", title="X", sku="S1")


def _dismissal(n: int, offer_id: str, customer: str, at: datetime) -> dict:
    return {
        "id": f"e{n}",
        "shop_id": "shop",
        "request_id": f"r{n}",
        "offer_id": offer_id,
        "customer_id": customer,
        "type": "dismiss",
        "at": at,
    }


@pytest.fixture
def history(store):
    impressions = [
        impression_row("r1", "capped", "ann", NOW - timedelta(hours=2)),
        impression_row("r2", "capped", "ann", NOW - timedelta(days=3)),
        impression_row("r3", "capped", "ann", NOW - timedelta(days=9)),
        impression_row("r4", "capped", "bob", NOW - timedelta(hours=1)),
        impression_row("r5", "free", "ann", NOW - timedelta(hours=1)),
    ]
    events = [
        _dismissal(1, "free", "ann", NOW - timedelta(days=2)),
        _dismissal(2, "capped", "ann", NOW - timedelta(days=40)),
    ]
    record_feedback(store, FeedbackBatch(impressions=impressions, events=events))
    return store


@pytest.mark.parametrize(
    ("customer", "day", "week"),
    [
        pytest.param("ann", {"capped": 1}, {"capped": 2}, id="ann: 2 h and 3 days ago, not 9"),
        pytest.param("bob", {"capped": 1}, {"capped": 1}, id="bob: 1 h ago"),
        pytest.param("carl", {}, {}, id="carl: never shown"),
    ],
)
def test_usage_counts_each_customers_impressions_in_the_caps_windows(
    history, customer: str, day: dict, week: dict
):
    recent = RecentActivity(history, "shop", dismiss_days=30)
    recent.apply(recent.fetch([CAPPED, FREE], NOW))

    usage = recent.usage(customer, NOW)

    assert (dict(usage.customer_day), dict(usage.customer_week)) == (day, week)
    assert dict(usage.total_impressions) == {"capped": 4}


def test_this_workers_impressions_count_at_once(history):
    recent = RecentActivity(history, "shop", dismiss_days=30)
    recent.apply(recent.fetch([CAPPED, FREE], NOW))

    recent.shown("carl", "r9", CAPPED, NOW)
    usage = recent.usage("carl", NOW + timedelta(minutes=1))

    assert (usage.customer_day["capped"], usage.customer_week["capped"]) == (1, 1)
    assert usage.total_impressions["capped"] == 5


def test_dismissals_within_the_window_are_remembered(history):
    recent = RecentActivity(history, "shop", dismiss_days=30)
    recent.apply(recent.fetch([CAPPED, FREE], NOW))

    assert recent.dismissed_offer_ids("ann", NOW) == {"free"}
    assert recent.dismissed_offer_ids("bob", NOW) == frozenset()


def test_a_refresh_merges_what_other_workers_wrote(history):
    recent = RecentActivity(history, "shop", dismiss_days=30)
    recent.apply(recent.fetch([CAPPED, FREE], NOW))
    later = NOW + timedelta(seconds=5)
    record_feedback(
        history,
        FeedbackBatch(
            impressions=[impression_row("r7", "capped", "dan", later)],
            events=[_dismissal(3, "capped", "dan", later)],
        ),
    )

    recent.apply(recent.fetch([CAPPED, FREE], later))
    recent.apply(recent.fetch([CAPPED, FREE], later))  # merging twice changes nothing

    assert recent.usage("dan", later).customer_day == {"capped": 1}
    assert recent.dismissed_offer_ids("dan", later) == {"capped"}


def test_what_other_workers_write_late_after_an_outage_still_counts(history):
    """Another worker's log holds what it served while the store was away and writes it
    after the store is back, seconds after this worker's first refresh that worked."""
    recent = RecentActivity(history, "shop", dismiss_days=30)
    recent.apply(recent.fetch([CAPPED, FREE], NOW))
    recent.refresh_failed()  # the store goes away; the other worker serves dan meanwhile
    served = NOW + timedelta(seconds=10)
    back = NOW + timedelta(minutes=10)
    recent.apply(recent.fetch([CAPPED, FREE], back))
    record_feedback(
        history,
        FeedbackBatch(
            impressions=[impression_row("r8", "capped", "dan", served)],
            events=[_dismissal(4, "free", "dan", served)],
        ),
    )

    recent.apply(recent.fetch([CAPPED, FREE], back + timedelta(seconds=30)))

    assert recent.usage("dan", back).customer_day == {"capped": 1}
    assert recent.dismissed_offer_ids("dan", back) == {"free"}


@pytest.mark.parametrize("n_workers", [1, 2, 3])
def test_workers_between_refreshes_together_stay_within_a_total_cap(history, n_workers):
    """The capped offer was shown 4 times of its 10: each worker takes its share of the 6
    left (rounded up) rather than all of them, whoever gets the traffic."""
    workers = [RecentActivity(history, "shop", 30, n_workers) for _ in range(n_workers)]
    for worker in workers:
        worker.apply(worker.fetch([CAPPED, FREE], NOW))

    shown = 0
    for n in range(60):
        worker, guest = workers[n % n_workers], f"guest-{n}"
        if cap_violation(CAPPED, worker.usage(guest, NOW), guest) is None:
            worker.shown(guest, f"request-{n}", CAPPED, NOW)
            shown += 1

    assert 6 <= shown <= 6 + n_workers - 1


def _total(recent: RecentActivity) -> int:
    return recent.usage("anyone", NOW).total_impressions.get("capped", 0)


def test_a_refresh_keeps_counting_what_this_worker_served_and_its_log_has_not_written(history):
    """After an outage the store comes back before the logs have written what they kept: the
    store's count alone would let every worker spend the cap again."""
    recent = RecentActivity(history, "shop", 30, workers=2)
    recent.apply(recent.fetch([CAPPED, FREE], NOW))  # the store holds 4 of the 10
    rows = [impression_row(worker_tag() + f"{n:016d}", "capped", f"g{n}", NOW) for n in range(3)]
    for row in rows:
        recent.shown(row["customer_id"], row["request_id"], CAPPED, NOW)

    recent.apply(recent.fetch([CAPPED, FREE], NOW))  # the log has written none yet
    still_queued, capped = _total(recent), cap_violation(CAPPED, recent.usage("g9", NOW), "g9")
    record_feedback(history, FeedbackBatch(impressions=rows))
    recent.written(rows)
    recent.apply(recent.fetch([CAPPED, FREE], NOW))

    assert still_queued == 4 + 3 * 2  # each counted once per worker, as when served
    assert capped is not None
    assert _total(recent) == 7  # written: the store counts them, once


def test_impressions_the_log_writes_while_the_store_is_read_still_count(history, monkeypatch):
    recent = RecentActivity(history, "shop", 30, workers=1)
    recent.apply(recent.fetch([CAPPED, FREE], NOW))
    rows = [impression_row(worker_tag() + f"{n:016d}", "capped", f"h{n}", NOW) for n in range(2)]
    for row in rows:
        recent.shown(row["customer_id"], row["request_id"], CAPPED, NOW)
    read = recent.fetch

    def read_then_written(offers, now):  # the log writes them just after the count is read
        fetched = read(offers, now)
        record_feedback(history, FeedbackBatch(impressions=rows))
        recent.written(rows)
        return fetched

    monkeypatch.setattr(recent, "fetch", read_then_written)
    with start_blocking_portal() as portal:
        portal.call(recent.refresh, [CAPPED, FREE], NOW)

    assert _total(recent) == 4 + 2


def test_a_guest_has_no_per_customer_usage(history):
    recent = RecentActivity(history, "shop", dismiss_days=30)
    recent.apply(recent.fetch([CAPPED, FREE], NOW))
    recent.shown("", "r9", CAPPED, NOW)

    assert recent.usage(None, NOW).customer_day == {}


def test_a_refresh_reads_other_workers_impressions_but_not_this_ones(history):
    recent = RecentActivity(history, "shop", dismiss_days=30)
    recent.apply(recent.fetch([CAPPED, FREE], NOW))
    later = NOW + timedelta(seconds=5)
    own, other = worker_tag() + "0" * 16, "f" * 24
    recent.shown("erin", own, CAPPED, later)  # served and logged by this worker
    impressions = [
        impression_row(own, "capped", "erin", later),
        impression_row(other, "capped", "fay", later),
    ]
    record_feedback(history, FeedbackBatch(impressions=impressions))

    fetched = recent.fetch([CAPPED, FREE], later)
    recent.apply(fetched)

    assert [row[0] for row in fetched.impressions] == [other]
    assert recent.usage("erin", later).customer_day == {"capped": 1}
    assert recent.usage("fay", later).customer_day == {"capped": 1}


def test_a_full_reload_reads_this_workers_impressions_too(history):
    own = worker_tag() + "0" * 16
    record_feedback(history, FeedbackBatch(impressions=[impression_row(own, "capped", "gus", NOW)]))
    recent = RecentActivity(history, "shop", dismiss_days=30)

    recent.apply(recent.fetch([CAPPED, FREE], NOW))

    assert recent.usage("gus", NOW).customer_day == {"capped": 1}


def test_a_full_reload_keeps_this_workers_impressions_the_store_does_not_hold_yet(history):
    recent = RecentActivity(history, "shop", dismiss_days=30)
    recent.apply(recent.fetch([CAPPED, FREE], NOW))
    own = worker_tag() + "0" * 16
    recent.shown("hal", own, CAPPED, NOW)  # served; its row still in the log's queue
    newly_capped = Offer(id="new", kind="partner", title="N", caps=Caps(per_customer_per_day=1))

    later = NOW + timedelta(seconds=5)
    recent.apply(recent.fetch([CAPPED, FREE, newly_capped], later))  # tracked set changed: full
    record_feedback(history, FeedbackBatch(impressions=[impression_row(own, "capped", "hal", NOW)]))
    recent.apply(recent.fetch([CAPPED, FREE, newly_capped], later))

    assert recent.usage("hal", later).customer_day == {"capped": 1}


def test_an_offer_capped_since_the_last_refresh_counts_at_once(history):
    recent = RecentActivity(history, "shop", dismiss_days=30)
    recent.apply(recent.fetch([FREE], NOW))  # "capped" not yet in the catalog

    recent.shown("ida", worker_tag() + "1" * 16, CAPPED, NOW)

    assert recent.usage("ida", NOW).customer_day == {"capped": 1}


def test_customers_whose_impressions_and_dismissals_expired_are_let_go(history):
    """Memory stays bounded by the windows (read through private fields: nothing a request
    sees changes, as usage and dismissals are filtered by the windows anyway)."""
    recent = RecentActivity(history, "shop", dismiss_days=30)
    recent.apply(recent.fetch([CAPPED, FREE], NOW))
    assert set(recent._shown) == {"ann", "bob"} and set(recent._dismissed) == {"ann"}

    in_a_week = NOW + timedelta(days=7)  # ann's latest impression, 2 h before NOW, has expired
    recent.apply(recent.fetch([CAPPED, FREE], in_a_week))
    assert set(recent._shown) == set() and set(recent._dismissed) == {"ann"}

    in_a_month = NOW + timedelta(days=29)  # the dismissal, 2 days before NOW, is 31 days old
    recent.apply(recent.fetch([CAPPED, FREE], in_a_month))
    assert set(recent._dismissed) == set()
