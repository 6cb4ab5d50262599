"""A recipient's quiet window, in their own timezone."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_until(
    *, now: datetime, timezone: str, start: time | None, end: time | None
) -> datetime | None:
    """When the quiet window ``now`` falls in ends, or None outside it.

    A window may cross midnight (22:00-07:00); equal bounds mean no window.
    """
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(zone(timezone))
    moment = local.time().replace(tzinfo=None)
    day = local.date()
    if start < end:
        inside, end_day = start <= moment < end, day
    elif moment >= start:
        inside, end_day = True, day + timedelta(days=1)
    else:
        inside, end_day = moment < end, day
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=local.tzinfo).astimezone(now.tzinfo)
