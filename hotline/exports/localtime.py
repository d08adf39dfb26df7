"""Times in an export are the site's local time (``site.timezone``), never UTC.

A supervisor reads a CSV or XLSX in Excel, which knows no time zones: a cell is written as
``YYYY-MM-DD HH:MM:SS`` in the site's zone (what the wallboard and the citizen were told) and the
column header names the zone: ``(北京时间 UTC+8)`` for the zones of China's standard time, else
``(当地时间 <zone>)``. The store keeps UTC; a naive time read back from it is UTC.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BEIJING = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "PRC"})
FORMAT = "%Y-%m-%d %H:%M:%S"


def zone_label(tz: ZoneInfo) -> str:
    return "北京时间 UTC+8" if tz.key in BEIJING else f"当地时间 {tz.key}"


def time_header(name: str, tz: ZoneInfo) -> str:
    """``创建时间`` → ``创建时间(北京时间 UTC+8)``."""
    return f"{name}({zone_label(tz)})"


def local_text(value: object, tz: ZoneInfo) -> object:
    """An ISO 8601 text or a datetime as local ``YYYY-MM-DD HH:MM:SS``; empty stays empty, anything
    else (not a time) is left as it is."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, dt.datetime):
        return value
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(tz).strftime(FORMAT)


def stamp(now: dt.datetime, tz: ZoneInfo) -> str:
    """The local moment in an export's file name: ``20261201-093000``."""
    return now.astimezone(tz).strftime("%Y%m%d-%H%M%S")
