"""Errors of the knowledge base: :class:`hotline.exceptions.HotlineError` subclasses with stable ids
(the API turns them into JSON in one place, ``hotline.api.app``)::

    NotFound
    ├── NoSuchEntry             no-such-knowledge-entry   (404: no entry with that id, or withdrawn)
    └── NoSuchUnit              no-such-unit              (404: not an orders.units[].id)
    NotYourUnit                 not-your-unit             (403: a unit user on another unit's entry; a
                                                           seat or department writing)
    KnowledgeReadForbidden      knowledge-read-forbidden  (403: a department user: it reads work orders only)
    VersionConflict             knowledge-version-conflict (409: the entry changed since the version given)

Bad bodies and query strings are ``invalid-request`` naming the field (``title``, ``materials``,
``valid_until``, ``limit``, ...).
"""

from __future__ import annotations

from hotline.exceptions import HotlineError, NotFound


class NoSuchEntry(NotFound):
    error_id = "no-such-knowledge-entry"

    def __init__(self, entry_id: object) -> None:
        super().__init__(f"no knowledge-base entry with id {entry_id!r}", entry_id=str(entry_id))


class NoSuchUnit(NotFound):
    error_id = "no-such-unit"

    def __init__(self, unit: str) -> None:
        super().__init__(f"unit: no member unit {unit!r} (orders.units[].id)", field="unit", value=unit)


class NotYourUnit(HotlineError):
    """Entries are maintained by their own unit's users, supervisors and admins."""

    error_id = "not-your-unit"
    http_status = 403

    def __init__(self, role: str, own: str | None, unit: str) -> None:
        why = (f"a unit user maintains its own unit's entries ({own}), not {unit!r}'s" if role == "unit" else
               f"knowledge-base entries are maintained by their unit and by supervisors, not by a {role} user")
        super().__init__(why, role=role, own=own, unit=unit)


class KnowledgeReadForbidden(HotlineError):
    error_id = "knowledge-read-forbidden"
    http_status = 403

    def __init__(self, role: str) -> None:
        super().__init__(f"the knowledge base is read by seats, units and supervisors, not by a {role} user",
                         role=role)


class VersionConflict(HotlineError):
    error_id = "knowledge-version-conflict"
    http_status = 409

    def __init__(self, entry_id: int, given: int, current: int) -> None:
        super().__init__(f"entry {entry_id} is at version {current}, not {given}: read it again and redo the change",
                         entry_id=entry_id, version=given, current=current)
