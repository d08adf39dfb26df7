"""The directory: one entry per department and one per number, built once from the site config
(by the call plan, :func:`hotline.spine.plan.directory_entries`).

Entries are plain JSON-ready dicts (what the API returns):

* department: ``{"kind": "department", "id", "name", "duty_phone", "hours", "queue", "phone",
  "numbers"}``; ``hours`` is ``{"days", "start", "end"}`` or null (answers 7x24); ``queue`` the
  queue its calls join on 12345; ``phone`` the department's own phone registered on the
  platform (endpoint ``dept-<id>``) or null; ``numbers`` its legacy numbers. Secrets never appear.
* number: ``{"kind": "number", "number", "mode", "hotline", "department", "department_name",
  "queue", "note", "ring_seconds", "transition"}``: a legacy number (merged, parallel,
  convenience, emergency) or an emergency route not listed as a number. ``queue`` is where
  12345 answers it (merged and parallel numbers), else null; ``ring_seconds`` how long a
  parallel number rings its department before 12345 takes the call.

Search (``q``) is a case-insensitive substring match on names (Chinese), department ids and
numbers; a number query also matches with or without a leading ``+``.
"""

from __future__ import annotations

from hotline.config.site import SiteConfig
from hotline.directory.schemas import DirectoryQuery
from hotline.exceptions import NotFound
from hotline.spine.plan import Entry, directory_entries


class NoSuchEntry(NotFound):
    """``no-such-entry`` (404): no directory entry for the number (a NotFound of the exception tree)."""

    error_id = "no-such-entry"

    def __init__(self, number: str) -> None:
        super().__init__(f"no directory entry for number {number!r}", number=number)


def _text(entry: Entry) -> list[str]:
    """What ``q`` is matched against."""
    if entry["kind"] == "department":
        return [entry["id"], entry["name"], entry["duty_phone"] or ""]
    return [entry["number"], entry["hotline"] or "", entry["department"] or "", entry["department_name"] or ""]


class DirectoryService:
    """Read-only and in memory: the site config is the directory's source of truth."""

    def __init__(self, site: SiteConfig) -> None:
        self._entries: list[Entry] = directory_entries(site)   # the call plan's
        self._by_number = {e["number"]: e for e in self._entries if e["kind"] == "number"}
        self._by_duty_phone: dict[str, Entry] = {}
        for e in self._entries:
            if e["kind"] == "department" and e["duty_phone"]:
                self._by_duty_phone.setdefault(e["duty_phone"], e)

    def search(self, query: DirectoryQuery) -> tuple[list[Entry], int]:
        """One page of matching entries (departments first, then numbers, in config order) and the total."""
        q = query.q.casefold()
        q_digits = q.lstrip("+")
        matches = []
        for entry in self._entries:
            if query.mode == "department" and entry["kind"] != "department":
                continue
            if query.mode not in (None, "department") and entry.get("mode") != query.mode:
                continue
            if q and not any(q in text.casefold() or (q_digits and q_digits in text.lstrip("+"))
                             for text in _text(entry) if text):
                continue
            matches.append(entry)
        return matches[query.offset:query.offset + query.limit], len(matches)

    def get(self, number: str) -> Entry:
        """The entry of a number: a legacy number or emergency route, else the department whose
        duty phone it is; ``no-such-entry`` otherwise."""
        entry = self._by_number.get(number) or self._by_duty_phone.get(number)
        if entry is None:
            raise NoSuchEntry(number)
        return entry
