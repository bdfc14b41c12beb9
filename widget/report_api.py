"""``GET /v1/report``: the shop's figures by day, placement, offer or kind, as JSON or CSV.

Answers the secret key (``Authorization: Bearer sk_...``). The period is whole UTC
days; :func:`parse_period` is also how the dashboard picks its days.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from offers.reports import GROUP_BY, report, report_csv
from widget.errors import ApiError
from widget.query import single
from widget.service import service_of

DEFAULT_DAYS = 30
_FORMATS = ("json", "csv")
_PARAMETERS = {"since", "until", "group_by", "format"}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Period:
    """Days ``since``..``until``, both included."""

    since: date
    until: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1


async def report_endpoint(request: Request) -> Response:
    service = service_of(request)
    shop = service.keys.secret(request)
    params = request.query_params
    unknown = sorted(set(params) - _PARAMETERS)
    if unknown:  # `from=` or `groupby=` would otherwise answer the default report unsaid
        known = ", ".join(f"`{name}`" for name in sorted(_PARAMETERS))
        raise ApiError(422, f"unknown parameter `{unknown[0]}`: expected {known}", field=unknown[0])
    for name in sorted(params):
        single(params, name)
    period = parse_period(params.get("since"), params.get("until"))
    group_by = params.get("group_by") or "day"
    if group_by not in GROUP_BY:
        raise ApiError(422, f"`group_by` must be one of {', '.join(GROUP_BY)}", field="group_by")
    output = params.get("format") or "json"
    if output not in _FORMATS:
        raise ApiError(422, "`format` must be json or csv", field="format")
    result = await run_in_threadpool(
        report, service.store, shop.id, period.since, period.until, group_by
    )
    if output == "csv":
        name = f"encore-report-{period.since}-{period.until}-{group_by}.csv"
        return Response(
            report_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return Response(orjson.dumps(result), media_type="application/json")


def parse_period(since: str | None, until: str | None, today: date | None = None) -> Period:
    """The report period from ISO dates; by default the last 30 days up to today (UTC)."""
    last = _parse_date(until, "until") if until else today or datetime.now(UTC).date()
    first = (
        _parse_date(since, "since")
        if since
        else date.fromordinal(max(last.toordinal() - (DEFAULT_DAYS - 1), 1))  # not before 0001
    )
    if last < first:
        if not until:
            message = f"`since` ({first}) is after today, where `until` ends by default"
            raise ApiError(422, message, field="since")
        raise ApiError(422, "`until` must not be before `since`", field="until")
    return Period(first, last)


def _parse_date(value: str, field: str) -> date:
    try:
        if not _DAY.fullmatch(value):  # fromisoformat also reads 20261201 and 2026-W49-1
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(
            422, f"`{field}` must be a date as YYYY-MM-DD, got {value!r}", field=field
        ) from None


routes = [Route("/v1/report", report_endpoint, methods=["GET"])]
