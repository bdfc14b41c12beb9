"""Recent feedback held in memory: what the caps and the dismissals need per request.

Ranking must not wait for the database (a caps query over the impressions
table costs milliseconds, a whole request's budget). So each worker keeps:

- per customer, their impressions of the offers that have a per-customer cap,
  over the last 7 days (the caps' longest window);
- per customer, the offers they dismissed in the last ``dismiss_days`` days;
- lifetime impressions and conversions of offers with a total or budget cap.

Its own requests and events update it at once; a background refresh every few
seconds merges in what other workers wrote (rows are keyed, so merging twice
changes nothing; its own impressions, told apart by their request ids, are not
read again) and replaces the lifetime counts with the store's, plus what this
worker served that its log has not written yet (queued, or written while the
store was being read: a refresh after an outage, with thousands of rows still
queued, would otherwise forget them and let every worker spend the cap again).
A customer checks out minutes apart, not seconds, so a few seconds' lag never
lets a per-customer cap slip. Toward a lifetime cap each worker spends only its
share of what is left (:meth:`RecentActivity.shown`), so the workers together
stay within it, give or take one impression each.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.concurrency import run_in_threadpool

from offers.caps import DAY, WEEK, OfferUsage, load_lifetime_usage
from offers.catalog import Offer
from offers.feedback import dismissals_since, impressions_since
from offers.store import Store
from widget.request_ids import worker_tag

# Rows other workers write late carry the time they were shown: a log queues them for a
# fraction of a second, or through a store outage, then for up to its back-off after it.
_OVERLAP = timedelta(minutes=2)
_PRUNE_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class Fetched:
    """What one refresh read from the store (in a worker thread)."""

    at: datetime
    tracked: frozenset[str]
    full: bool
    lifetime: OfferUsage
    impressions: list[tuple[str, str, str, datetime]]
    dismissals: list[tuple[str, str, datetime]]


class RecentActivity:
    """Per-customer impressions and dismissals, and lifetime counts, for one shop."""

    def __init__(self, store: Store, shop_id: str, dismiss_days: int, workers: int = 1) -> None:
        self.store = store
        self.shop_id = shop_id
        self.dismiss_window = timedelta(days=dismiss_days)
        self.workers = workers
        self._tracked: frozenset[str] = frozenset()
        self._shown: dict[str, dict[tuple[str, str], datetime]] = {}
        self._dismissed: dict[str, dict[str, datetime]] = {}
        self._unwritten: Counter[str] = Counter()  # own impressions the log has not written
        self._written_while_reading: Counter[str] | None = None
        self._set_lifetime(OfferUsage())
        self._watermark: datetime | None = None
        self._pruned_at: datetime | None = None
        # Since a refresh failed (the store away): rows from then on may still land late.
        self._late_since: datetime | None = None
        self._back_at: datetime | None = None  # the first refresh that worked again

    # reading, on the request path

    def usage(self, customer_id: str | None, at: datetime) -> OfferUsage:
        shown = self._shown.get(customer_id or "")
        if not shown:  # most customers: nothing shown to them lately
            return self._no_customer
        day: Counter[str] = Counter()
        week: Counter[str] = Counter()
        for (_request, offer_id), shown_at in shown.items():
            if at - WEEK < shown_at <= at:
                week[offer_id] += 1
                if shown_at > at - DAY:
                    day[offer_id] += 1
        return OfferUsage(
            customer_day=day,
            customer_week=week,
            total_impressions=self._total_shown,
            conversions=self._conversions,
        )

    def dismissed_offer_ids(self, customer_id: str | None, at: datetime) -> frozenset[str]:
        since = at - self.dismiss_window
        offers = self._dismissed.get(customer_id or "", {})
        return frozenset(offer_id for offer_id, when in offers.items() if when >= since)

    # what this worker just did

    def shown(self, customer_id: str, request_id: str, offer: Offer, at: datetime) -> None:
        """Count an impression this worker served (``offer`` as it was ranked: a cap it got
        a moment ago counts at once, before the next refresh tracks it).

        Until the next refresh, each impression counts once per worker toward the lifetime
        total: every worker then takes its share of what is left below a total cap, as if
        the others served as many meanwhile, rather than all of it (which let N workers
        overshoot a cap N times over)."""
        self._total_shown[offer.id] = self._total_shown.get(offer.id, 0) + self.workers
        self._unwritten[offer.id] += 1
        if customer_id and _capped_per_customer(offer):
            self._shown.setdefault(customer_id, {})[(request_id, offer.id)] = at

    def written(self, impressions: Sequence[dict]) -> None:
        """The feedback log wrote (or dropped) these impressions of this worker's."""
        for row in impressions:
            offer_id = row["offer_id"]
            self._unwritten[offer_id] -= 1
            if self._unwritten[offer_id] <= 0:
                del self._unwritten[offer_id]
            if self._written_while_reading is not None:
                self._written_while_reading[offer_id] += 1

    def converted(self, offer_id: str) -> None:
        self._conversions[offer_id] = self._conversions.get(offer_id, 0) + 1

    def dismissed(self, customer_id: str, offer_id: str, at: datetime) -> None:
        if customer_id:
            offers = self._dismissed.setdefault(customer_id, {})
            offers[offer_id] = max(at, offers.get(offer_id, at))

    # refreshing from the store

    def refresh_failed(self) -> None:
        """Note a refresh that failed. Other workers' logs hold what they served meanwhile and
        write it once the store is back: until those rows can have landed, refreshes read
        from before the failure, not from the last refresh that worked."""
        if self._watermark is not None and self._late_since is None:
            self._late_since = self._watermark
        self._back_at = None

    async def refresh(self, offers: Sequence[Offer], now: datetime) -> None:
        """:meth:`fetch` in a worker thread, then :meth:`apply`; impressions the log writes
        meanwhile may or may not be in what the fetch counts, so they count as unwritten."""
        self._written_while_reading = Counter()
        try:
            self.apply(await run_in_threadpool(self.fetch, offers, now))
        finally:
            self._written_while_reading = None

    def fetch(self, offers: Sequence[Offer], now: datetime) -> Fetched:
        """Read what changed (blocking: run it in a worker thread)."""
        tracked = frozenset(o.id for o in offers if _capped_per_customer(o))
        full = self._watermark is None or tracked != self._tracked
        last = self._late_since or self._watermark
        read_since = None if last is None else last - _OVERLAP
        shown_since = now - WEEK if full or read_since is None else max(read_since, now - WEEK)
        # once loaded, this worker's own impressions are recorded as they are served
        others = None if full else worker_tag()
        dismissed_since = now - self.dismiss_window if read_since is None else read_since
        return Fetched(
            at=now,
            tracked=tracked,
            full=full,
            lifetime=load_lifetime_usage(self.store, self.shop_id, offers),
            impressions=impressions_since(
                self.store, self.shop_id, sorted(tracked), shown_since, except_requests=others
            ),
            dismissals=dismissals_since(self.store, self.shop_id, dismissed_since),
        )

    def apply(self, fetched: Fetched) -> None:
        """Merge a fetch (in the event loop, so readers never see a half-made update)."""
        if fetched.full:
            self._shown = self._own_since(fetched.at - WEEK, fetched.tracked)
        self._tracked = fetched.tracked
        for request_id, offer_id, customer_id, shown_at in fetched.impressions:
            self._shown.setdefault(customer_id, {})[(request_id, offer_id)] = shown_at
        for customer_id, offer_id, at in fetched.dismissals:
            self.dismissed(customer_id, offer_id, at)
        self._set_lifetime(fetched.lifetime)
        self._watermark = fetched.at
        if self._late_since is not None:
            self._back_at = self._back_at or fetched.at
            if fetched.at - self._back_at > _OVERLAP:
                self._late_since = self._back_at = None
        if self._pruned_at is None or fetched.at - self._pruned_at > _PRUNE_EVERY:
            self._prune(fetched.at)

    def _own_since(self, since: datetime, offer_ids: frozenset[str]) -> dict:
        """This worker's impressions of ``offer_ids`` after ``since``: a full reload keeps
        them, as the store may not hold them yet (the log writes every fraction of a second,
        and requests go on while the reload reads) and later refreshes skip this worker's."""
        own = worker_tag()
        kept = {
            customer_id: {
                key: at
                for key, at in shown.items()
                if key[0].startswith(own) and key[1] in offer_ids and at > since
            }
            for customer_id, shown in self._shown.items()
        }
        return {customer_id: shown for customer_id, shown in kept.items() if shown}

    def _set_lifetime(self, lifetime: OfferUsage) -> None:
        """The lifetime counts as read, plus this worker's impressions not yet written (each
        counted once per worker, as :meth:`shown` counts them: the others' logs may hold as
        many); its impressions and conversions are added as they happen, and every usage
        handed out shares these two counts."""
        unwritten = self._unwritten + (self._written_while_reading or Counter())
        self._total_shown: dict[str, int] = dict(lifetime.total_impressions)
        for offer_id, n in unwritten.items():
            self._total_shown[offer_id] = self._total_shown.get(offer_id, 0) + n * self.workers
        self._conversions: dict[str, int] = dict(lifetime.conversions)
        self._no_customer = OfferUsage(
            total_impressions=self._total_shown, conversions=self._conversions
        )

    def _prune(self, now: datetime) -> None:
        self._pruned_at = now
        for customer_id, shown in list(self._shown.items()):
            kept = {key: at for key, at in shown.items() if at > now - WEEK}
            if kept:
                self._shown[customer_id] = kept
            else:
                del self._shown[customer_id]
        since = now - self.dismiss_window
        for customer_id, offers in list(self._dismissed.items()):
            kept_offers = {offer_id: at for offer_id, at in offers.items() if at >= since}
            if kept_offers:
                self._dismissed[customer_id] = kept_offers
            else:
                del self._dismissed[customer_id]


def _capped_per_customer(offer: Offer) -> bool:
    caps = offer.caps
    return caps.per_customer_per_day is not None or caps.per_customer_per_week is not None
