"""What a seat may transfer or conference a caller to, as the records and call control see it.

The targets are the call plan's (:func:`hotline.spine.plan.site_targets`: the only numbers the
dialplan's ``hotline-transfer`` context dials, what each key *is*, the number it dials and how
long a three-way leg to it rings); this module gives the assembler a directory that knows them.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.config.site import SiteConfig
from hotline.spine.plan import Target, call_plan, site_targets  # noqa: F401  (re-exported)

from .assemble import Directory


@dataclass(frozen=True)
class SiteDirectory(Directory):
    """The assembler's directory plus the transfer targets, so a record can say what a leg was."""

    targets: tuple[tuple[str, Target], ...] = ()

    def target(self, key: str) -> Target | None:
        for k, t in self.targets:
            if k == key:
                return t
        return None


def site_directory(site: SiteConfig) -> SiteDirectory:
    plan = call_plan(site)
    return SiteDirectory(trunks=plan.trunks, seats=plan.seats, targets=tuple(plan.targets.items()))
