"""An independent reference model of the read API, for the tests: brute force over stored hours.

It shares no code with the planner or the reports: calendar buckets come from ``datetime``,
every record is the merge of the hourly usages that lie inside it (sums added, the largest
peak), and numbers are rendered with ``Decimal.quantize``. Given each project's hourly usage,
the org's hourly usage (with its org-wide peaks) and the project registry, it answers what
each endpoint must answer for a range, as JSON-ready dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ocore_usage.aggregation import Usage

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
    return Usage(
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
    usage: Usage, period_start: int, period_type: str, project_id: str | None, name: str | None
) -> dict[str, Any]:
    # cpu/ram/disk: micro-units x microseconds; hours = value / (1e6 * 3.6e9)
    unit = 10**6 * HOUR_US
    return {
        "bandwidthInBytes": usage.bytes_in,
        "bandwidthOutBytes": usage.bytes_out,
        "cpuCoreHours": _hours(usage.cpu, unit),
        "diskGbHours": _hours(usage.disk, unit),
        "instanceCount": usage.peak,
        "instanceHours": _hours(usage.instance, HOUR_US),
        "periodStart": iso(period_start),
        "periodType": period_type,
        "projectId": project_id,
        "projectName": name,
        "ramGbHours": _hours(usage.ram, unit),
    }


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

    def _project_records(self, project: RefProject, start: int, end: int, period: str, fill: str) -> list[dict]:
        hours = self.project_hours.get(project.project_id, {})
        records = []
        for own_start, own_end in calendar_buckets(start, end, period):
            usage = merge_hours(hours, max(own_start, start), min(own_end, end))
            if fill == "zero" or usage.instance > 0:
                records.append(record(usage, own_start, period, project.project_id, project.name))
        return records

    def _listed(self, project: RefProject, start: int, end: int) -> bool:
        return (
            not project.deleted or merge_hours(self.project_hours.get(project.project_id, {}), start, end).instance > 0
        )

    def org_projects(self, org_id: str) -> list[RefProject]:
        return sorted((p for p in self.projects.values() if p.org_id == org_id), key=lambda p: p.project_id)

    def project_usage(self, project_id: str, start: int, end: int, period: str, fill: str = "zero") -> dict:
        project = self.projects[project_id]
        total = merge_hours(self.project_hours.get(project_id, {}), start, end)
        return {
            "items": self._project_records(project, start, end, period, fill),
            "period": period,
            "totals": record(total, start, "total", project.project_id, project.name),
            "startDate": iso(start),
            "endDate": iso(end),
        }

    def org_usage(self, org_id: str, start: int, end: int, period: str, fill: str = "none") -> dict:
        items = []
        for project in self.org_projects(org_id):
            if fill == "zero" and not self._listed(project, start, end):
                continue
            items.extend(self._project_records(project, start, end, period, fill))
        total = merge_hours(self.org_hours.get(org_id, {}), start, end)
        return {
            "items": items,
            "period": period,
            "totals": record(total, start, "total", None, None),
            "startDate": iso(start),
            "endDate": iso(end),
        }

    def usage_totals(self, org_id: str, start: int, end: int) -> dict:
        totals = [
            record(
                merge_hours(self.project_hours.get(p.project_id, {}), start, end),
                start,
                "total",
                p.project_id,
                p.name,
            )
            for p in self.org_projects(org_id)
            if self._listed(p, start, end)
        ]
        return {"totals": totals, "startDate": iso(start), "endDate": iso(end)}
