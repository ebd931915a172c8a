"""Platform kinds: how the platform's own paid-partnership flag counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from complianceguard.model import Evidence
from complianceguard.packs.kinds.base import CheckParams, Context, Flag, Outcome, check_kind

if TYPE_CHECKING:
    from complianceguard.packs.schema import Rule


class PlatformToolParams(CheckParams):
    sufficient_alone: Flag = Field(False, description="the flag without a written label is enough")
    preferred: Flag = Field(False, description="fail when the flag is not set")


@check_kind("platform-tool", PlatformToolParams, usual={"pass": "The platform's label is used as this region expects."})
def platform_tool(ctx: Context, rule: Rule, p: PlatformToolParams) -> Outcome:
    """Passes when the platform's paid-partnership flag is used as the pack says: set with a written
    label in the scopes (or alone, with `sufficient_alone`), or not set unless `preferred`.

    Not applicable when never.

    Params: both optional.
    """
    tagged = ctx.submission.paid_partnership_tag
    flag = [Evidence(channel="metadata", kind="platform-tool", text=f"paid partnership tag: {tagged}")]
    if tagged and not ctx.labels(rule.scopes):
        if p.sufficient_alone:
            return Outcome("pass", "The platform's paid-partnership label is set and counts on its own here.", flag)
        return Outcome("fail", "Only the platform's paid-partnership label is set; it is not enough alone.", flag)
    if not tagged and p.preferred:
        return Outcome("fail", "The platform's paid-partnership label is not set.", flag)
    return Outcome("pass", "The platform's label is used as this region expects.", flag)
