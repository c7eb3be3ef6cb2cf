"""What a dashboard needs to build the operation form: formRules and scriptRender."""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.outbound import (
    ActionType,
    ContactResult,
    JustificationResult,
    NoContactReason,
    ResultKind,
    Script,
)
from resolvers.campaign.members import get_member
from resolvers.context import Context

REQUIRED_FIELDS = {
    ResultKind.SUCCESS: ["memberId", "resultId"],
    ResultKind.FAILURE: ["memberId", "resultId"],
    ResultKind.SCHEDULE: ["memberId", "resultId", "callbackAt"],
}
NO_CONTACT_REQUIRED = ["memberId", "noContactReasonId"]
PLACEHOLDER = re.compile(r"\{(person|campaign|agent|stage)\.([a-zA-Z]+)\}")


@dataclass(frozen=True)
class ResultRule:
    result: ContactResult
    justification_ids: list[int]
    requires_callback: bool
    allows_callback: bool
    concludes: bool


@dataclass(frozen=True)
class FormRules:
    results: list[ResultRule]
    no_contact_reasons: list[NoContactReason]


async def form_rules(ctx: Context) -> FormRules:
    """Active results with the active justifications each allows, and the active no-contact reasons."""
    ctx.require_user()
    results = await ContactResult.filter(active=True).order_by("id")
    links = await JustificationResult.filter(justification__active=True, result__active=True).order_by(
        "result_id", "justification_id"
    )
    allowed: dict[int, list[int]] = {}
    for link in links:
        allowed.setdefault(link.result_id, []).append(link.justification_id)
    rules = [
        ResultRule(
            result=result,
            justification_ids=allowed.get(result.pk, []),
            requires_callback=result.kind == ResultKind.SCHEDULE,
            allows_callback=result.kind == ResultKind.SCHEDULE,
            concludes=result.kind == ResultKind.SUCCESS
            or (result.kind == ResultKind.FAILURE and result.recycle_after_minutes is None),
        )
        for result in results
    ]
    return FormRules(results=rules, no_contact_reasons=await NoContactReason.filter(active=True).order_by("id"))


@dataclass(frozen=True)
class RenderedScript:
    script: Script
    text: str


async def render_script(
    ctx: Context, action_type_id: int | None, member_id: int, script_id: int | None = None
) -> RenderedScript | None:
    """A script with the member's fields filled in ("Adicionar script"): the one chosen among the
    campaign's (script_id), else the action type's."""
    user = ctx.require_user()
    member = await get_member(ctx, member_id)
    if script_id is None and action_type_id is not None:
        action = await ActionType.get_or_none(id=action_type_id)
        script_id = action.script_id if action is not None else None
    if member is None or script_id is None:
        return None
    script = await Script.get_or_none(id=script_id)
    if script is None:
        return None
    person = await ctx.loaders.person_by_id.load(member.person_id)
    campaign = await ctx.loaders.campaign_by_id.load(member.campaign_id)
    stage = await ctx.loaders.campaign_stage_by_id.load(member.stage_id) if member.stage_id else None
    values = {
        ("person", "name"): person.name if person else "",
        ("person", "firstName"): person.name.split()[0] if person and person.name else "",
        ("person", "document"): person.document if person else "",
        ("person", "phone"): (person.phones or [""])[0] if person else "",
        ("person", "email"): (person.emails or [""])[0] if person else "",
        ("campaign", "name"): campaign.name if campaign else "",
        ("agent", "name"): user.name,
        ("stage", "name"): stage.name if stage else "",
    }

    def fill(match: re.Match[str]) -> str:
        key = (match[1], match[2])
        return values[key] if key in values else match[0]

    return RenderedScript(script=script, text=PLACEHOLDER.sub(fill, script.body))
