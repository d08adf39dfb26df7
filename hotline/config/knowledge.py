"""The site config of the knowledge base (``knowledge:``): its freshness rule.

An entry not updated for ``fresh_days`` days is flagged ``stale`` (in search results, in the
supervisors' list, and in its unit's 知识库 score at a month's end). The default, 180 days, is a
half-year review; the annex's one-week rule for new policies (对新政策、新规定…一周内完成更新) is
the units' duty when a policy changes, which the platform cannot see: a site sets the cycle it
enforces.
"""

from __future__ import annotations

from pydantic import Field

from hotline.config.scalars import Model


class KnowledgeSection(Model):
    """``knowledge:`` the knowledge base (``hotline/knowledge``)."""

    fresh_days: int = Field(default=180, ge=1, le=3650)
