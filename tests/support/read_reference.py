"""An independent reference model of the read API, for the tests: brute force over stored hours.

It shares no code with the planner, the reports or the zones: calendar buckets come from
``datetime``, every record is the merge of the hourly usages that lie inside it (sums added, the
largest peak), and numbers are rendered with ``Decimal.quantize``. Given each project's hourly
usage, the org's hourly usage (with its org-wide peaks) and the project registry, it answers what
each endpoint must answer for a range, as JSON-ready dicts.

Time zones by brute force: every UTC hour of the range is converted to the zone with
``zoneinfo`` and goes to the local day (or month) of its first instant; the records are those
groups, in order, labelled with the local midnight of their date. ``data_through`` (when set) is
the answers' ``dataThrough``: a record whose last hour ends after it is ``partial``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ocore_usage.domain.aggregation import Usage

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR_US = 3_600_000_000


def to_dt(instant: int) -> datetime:
    return EPOCH + timedelta(microseconds=instant)


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def instant(text: str) -> int:
    """Microseconds of an ISO date or date-time (UTC when it has no offset)."""
    moment = datetime.fromisoformat(text)
    return to_us(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def iso(instant: int) -> str:
    return to_dt(instant).strftime("%Y-%m-%dT%H:%M:%SZ")


def calendar_buckets(start: int, end: int, period: str) -> list[tuple[int, int]]:
    """``(bucket start, bucket end)`` of each calendar bucket of ``period`` overlapping ``[start, end)``."""
    moment = to_dt(start)
    if period == "hourly":
        cursor = moment.replace(minute=0, second=0, microsecond=0)
    elif period == "daily":
        cursor = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        cursor = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    result = []
    while to_us(cursor) < end:
        if period == "hourly":
            following = cursor + timedelta(hours=1)
        elif period == "daily":
            following = cursor + timedelta(days=1)
        else:
            following = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
        result.append((to_us(cursor), to_us(following)))
        cursor = following
    return result


def aligned_buckets_from(instant: int) -> list[int]:
    """Ends of the calendar buckets (hour, day, month) that start at ``instant`` (brute force)."""
    moment = to_dt(instant)
    ends = [instant + HOUR_US]
    if moment.hour == 0:
        ends.append(to_us(moment + timedelta(days=1)))
        if moment.day == 1:
            ends.append(to_us((moment.replace(day=28) + timedelta(days=4)).replace(day=1)))
    return ends


def fewest_buckets(start: int, end: int) -> int:
    """Dynamic programming over the hours: the fewest calendar buckets that exactly tile ``[start, end)``."""
    best = {end: 0}
    for instant in range(end - HOUR_US, start - 1, -HOUR_US):
        best[instant] = 1 + min(best[e] for e in aligned_buckets_from(instant) if e <= end)
    return best[start]


def merge_hours(hours: Mapping[int, Usage], start: int, end: int) -> Usage:
    picked = [u for h, u in hours.items() if start <= h < end]
    return Usage.of(
        cpu=sum(u.cpu for u in picked),
        ram=sum(u.ram for u in picked),
        disk=sum(u.disk for u in picked),
        instance=sum(u.instance for u in picked),
        bytes_in=sum(u.bytes_in for u in picked),
        bytes_out=sum(u.bytes_out for u in picked),
        peak=max((u.peak for u in picked), default=0),
    )


def _hours(value: int, divisor: int) -> Decimal:
    return (Decimal(value) / Decimal(divisor)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)


def record(
    usage: Usage,
    period_start: int | str,
    period_type: str,
    project_id: str | None,
    name: str | None,
    *,
    partial: bool = False,
) -> dict[str, Any]:
    # cpu/ram/disk: micro-units x microseconds; hours = value / (1e6 * 3.6e9)
    unit = 10**6 * HOUR_US
    result: dict[str, Any] = {
        "bandwidthInBytes": usage.bytes_in,
        "bandwidthOutBytes": usage.bytes_out,
        "cpuCoreHours": _hours(usage.cpu, unit),
        "diskGbHours": _hours(usage.disk, unit),
        "instanceCount": usage.peak,
        "instanceHours": _hours(usage.instance, HOUR_US),
        "periodStart": period_start if isinstance(period_start, str) else iso(period_start),
        "periodType": period_type,
        "projectId": project_id,
        "projectName": name,
        "ramGbHours": _hours(usage.ram, unit),
    }
    if partial:
        result["partial"] = True
    return result


def local_groups(start: int, end: int, period: str, tz: str | None) -> list[tuple[str, list[int]]]:
    """The records' buckets of ``[start, end)`` by brute force: each UTC hour goes to the group of its
    own hour (hourly, always UTC), or of the local date or month its first instant falls in; each
    group is labelled with its local midnight (``Z`` in UTC), in time order."""
    zone = ZoneInfo(tz) if tz and tz != "UTC" else None
    groups: dict[Any, list[int]] = {}
    for hour in range(start, end, HOUR_US):
        if period == "hourly":
            key: Any = hour
        else:
            local = to_dt(hour).astimezone(zone) if zone else to_dt(hour)
            key = local.date() if period == "daily" else date(local.year, local.month, 1)
        groups.setdefault(key, []).append(hour)
    labelled = []
    for key, hours in groups.items():
        if period == "hourly":
            label = iso(key)
        elif zone is None:
            label = iso(to_us(datetime.combine(key, time(0), UTC)))
        else:
            label = datetime.combine(key, time(0), zone).isoformat()
        labelled.append((label, hours))
    return labelled


@dataclass
class RefProject:
    project_id: str
    org_id: str
    name: str
    deleted: bool = False


@dataclass
class ReadReference:
    """Stored hours per project and per org, and the registry: what the endpoints must answer."""

    projects: dict[str, RefProject] = field(default_factory=dict)
    project_hours: dict[str, dict[int, Usage]] = field(default_factory=dict)
    org_hours: dict[str, dict[int, Usage]] = field(default_factory=dict)
    data_through: int | None = None
    """The answers' dataThrough (None: answers are compared without it and nothing is partial)."""
    tz: str | None = None
    """The zone the next answers are asked in (None: UTC, as published)."""

    def _partial(self, end: int) -> bool:
        return self.data_through is not None and end > self.data_through

    def _answer(self, start: int, end: int, **body: Any) -> dict[str, Any]:
        answer = {**body, "startDate": iso(start), "endDate": iso(end)}
        if self.data_through is not None:
            answer["dataThrough"] = iso(self.data_through)
        return answer

    def _total(self, usage: Usage, start: int, end: int, project: RefProject | None) -> dict[str, Any]:
        project_id, name = (project.project_id, project.name) if project else (None, None)
        return record(usage, start, "total", project_id, name, partial=self._partial(end))

    def _project_records(self, project: RefProject, start: int, end: int, period: str, fill: str) -> list[dict]:
        hours = self.project_hours.get(project.project_id, {})
        records = []
        for label, group in local_groups(start, end, period, self.tz):
            picked = {h: hours[h] for h in group if h in hours}
            usage = merge_hours(picked, group[0], group[-1] + HOUR_US)
            if fill == "zero" or usage.instance > 0:
                partial = self._partial(group[-1] + HOUR_US)
                records.append(record(usage, label, period, project.project_id, project.name, partial=partial))
        return records

    def _listed(self, project: RefProject, start: int, end: int) -> bool:
        return (
            not project.deleted or merge_hours(self.project_hours.get(project.project_id, {}), start, end).instance > 0
        )

    def org_projects(self, org_id: str) -> list[RefProject]:
        return sorted((p for p in self.projects.values() if p.org_id == org_id), key=lambda p: p.project_id)

    def project_usage(self, project_id: str, start: int, end: int, period: str, fill: str = "zero") -> dict:
        project = self.projects[project_id]
        items = self._project_records(project, start, end, period, fill)
        total = merge_hours(self.project_hours.get(project_id, {}), start, end)
        return self._answer(start, end, items=items, period=period, totals=self._total(total, start, end, project))

    def org_usage(self, org_id: str, start: int, end: int, period: str, fill: str = "none") -> dict:
        items = []
        for project in self.org_projects(org_id):
            if fill == "zero" and not self._listed(project, start, end):
                continue
            items.extend(self._project_records(project, start, end, period, fill))
        total = merge_hours(self.org_hours.get(org_id, {}), start, end)
        return self._answer(start, end, items=items, period=period, totals=self._total(total, start, end, None))

    def usage_totals(self, org_id: str, start: int, end: int) -> dict:
        totals = [
            self._total(merge_hours(self.project_hours.get(p.project_id, {}), start, end), start, end, p)
            for p in self.org_projects(org_id)
            if self._listed(p, start, end)
        ]
        return self._answer(start, end, totals=totals)
