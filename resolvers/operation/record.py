"""operationRecord: validate everything first, then write it all in one transaction.

The transaction writes the operation, closes the member's pending callback, creates the new one,
updates the member (attempts, stage, status, queue position), releases the claim and records the
events. Any failure leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import Enum

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.campaign import (
    Campaign,
    CampaignMember,
    CampaignScript,
    CampaignStage,
    QueuePriority,
    QueueStatus,
)
from models.catalog import ContactChannel
from models.event import Event
from models.floor import StateChangeCause
from models.operation import Callback, CallbackStatus, Operation
from models.outbound import (
    ActionType,
    ContactResult,
    Justification,
    JustificationResult,
    NoContactReason,
    ResultKind,
    Script,
    ScriptAnswer,
)
from models.person import Person
from models.user import User
from realtime.events import EventSpec, publish, record
from resolvers import history
from resolvers import person as person_use_cases
from resolvers.campaign import rules
from resolvers.context import Context
from resolvers.do_not_call import blocked, listed_numbers
from resolvers.errors import OperationError, OperationErrorCode, PersonError, PersonErrorCode
from resolvers.floor import end_call
from resolvers.operation.handling import check_seconds, handling_values
from resolvers.script import Answer, check_answers

MAX_TEXT = 20000


class CallbackFor(str, Enum):
    ME = "ME"
    ANYONE = "ANYONE"


@dataclass(frozen=True)
class OperationInput:
    member_id: int
    action_type_id: int | None = None
    channel_id: int | None = None
    result_id: int | None = None
    justification_id: int | None = None
    stage_id: int | None = None
    notes: str = ""
    conversation: str = ""
    no_contact: bool = False
    no_contact_reason_id: int | None = None
    callback_at: datetime | None = None
    callback_for: CallbackFor = CallbackFor.ME
    talk_seconds: int | None = None
    wrap_up_seconds: int | None = None
    # Convert the member's suspect to a prospect in the same transaction ("transformar o suspect em
    # prospect"), deleting the suspect or not as SUSPECT_CONVERSION says (ASK: delete_suspect).
    convert_suspect: bool = False
    delete_suspect: bool | None = None
    # The script the agent ran and its answers by question key ("Script Dinâmico").
    script_id: int | None = None
    script_answers: tuple[tuple[str, str], ...] = ()


@dataclass
class _Checked:
    campaign: Campaign
    result: ContactResult | None = None
    reason: NoContactReason | None = None
    answers: list[Answer] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)


async def _entry(model: type, entry_id: int | None, unknown: OperationErrorCode, name: str, label: str):  # type: ignore[no-untyped-def]
    """A catalog entry that may still be chosen: it exists and is active."""
    if entry_id is None:
        return None
    row = await model.get_or_none(id=entry_id)
    if row is None:
        raise OperationError(unknown, f"No such {label}.", name)
    if not row.active:
        raise OperationError(OperationErrorCode.INACTIVE_CATALOG_ENTRY, f"This {label} is deactivated.", name)
    return row


def check_callback_time(campaign: Campaign, moment: datetime, ctx: Context, name: str) -> None:
    now = rules.utc_now()
    if moment.tzinfo is None:
        raise OperationError(OperationErrorCode.INVALID, "Give the time with its offset.", name)
    if moment <= now:
        raise OperationError(OperationErrorCode.CALLBACK_IN_PAST, "The callback time is in the past.", name)
    if not rules.within_calling_hours(campaign, moment, ctx.settings.zone):
        suggestion = rules.next_calling_time(campaign, moment, ctx.settings.zone).astimezone(ctx.settings.zone)
        raise OperationError(
            OperationErrorCode.OUTSIDE_CALLING_HOURS,
            f"The campaign does not call at that time; the next allowed time is {suggestion.isoformat()}.",
            name,
        )
    local_day = moment.astimezone(ctx.settings.zone).date()
    if campaign.end_date is not None and local_day > campaign.end_date:
        raise OperationError(
            OperationErrorCode.CALLBACK_AFTER_CAMPAIGN_END, f"The campaign ends on {campaign.end_date}.", name
        )


async def _validate(ctx: Context, user: User, data: OperationInput, member: CampaignMember) -> _Checked:
    campaign = await Campaign.get(id=member.campaign_id)
    await rules.check_assigned(user, campaign.pk, OperationErrorCode, OperationError, "memberId")
    rules.check_period(ctx, campaign, OperationErrorCode, OperationError)
    checked = _Checked(campaign=campaign)
    check_seconds(data.talk_seconds, "talkSeconds")
    check_seconds(data.wrap_up_seconds, "wrapUpSeconds")
    if len(data.notes) > MAX_TEXT or len(data.conversation) > MAX_TEXT:
        raise OperationError(OperationErrorCode.INVALID, f"Notes and conversation hold {MAX_TEXT} characters.")
    action = await _entry(
        ActionType, data.action_type_id, OperationErrorCode.UNKNOWN_ACTION_TYPE, "actionTypeId", "action type"
    )
    await _entry(ContactChannel, data.channel_id, OperationErrorCode.UNKNOWN_CHANNEL, "channelId", "channel")
    result = await _entry(ContactResult, data.result_id, OperationErrorCode.UNKNOWN_RESULT, "resultId", "result")
    reason = await _entry(
        NoContactReason, data.no_contact_reason_id, OperationErrorCode.UNKNOWN_NO_CONTACT_REASON,
        "noContactReasonId", "no-contact reason",
    )
    justification = await _entry(
        Justification, data.justification_id, OperationErrorCode.UNKNOWN_JUSTIFICATION,
        "justificationId", "justification",
    )
    if data.no_contact:
        if reason is None:
            raise OperationError(
                OperationErrorCode.NO_CONTACT_REASON_REQUIRED, "Say why there was no contact.", "noContactReasonId"
            )
    elif result is None:
        raise OperationError(OperationErrorCode.RESULT_REQUIRED, "Choose a result.", "resultId")
    elif reason is not None:
        raise OperationError(
            OperationErrorCode.INVALID, "A no-contact reason goes with noContact: true.", "noContactReasonId"
        )
    if justification is not None and (
        result is None
        or not await JustificationResult.filter(justification_id=justification.pk, result_id=result.pk).exists()
    ):
        raise OperationError(
            OperationErrorCode.JUSTIFICATION_NOT_ALLOWED,
            "This justification is not allowed for the chosen result.",
            "justificationId",
        )
    needs_callback = (result is not None and result.kind == ResultKind.SCHEDULE) or (
        reason is not None and reason.requires_callback
    )
    allows_callback = needs_callback or data.no_contact
    if data.callback_at is None and needs_callback:
        raise OperationError(OperationErrorCode.CALLBACK_REQUIRED, "Give the callback time.", "callbackAt")
    if data.callback_at is not None:
        if not allows_callback:
            raise OperationError(
                OperationErrorCode.CALLBACK_NOT_ALLOWED,
                "Only a SCHEDULE result or a no-contact attempt sets a callback.",
                "callbackAt",
            )
        check_callback_time(campaign, data.callback_at, ctx, "callbackAt")
    if data.stage_id is not None and not await CampaignStage.filter(
        id=data.stage_id, campaign_id=campaign.pk
    ).exists():
        raise OperationError(
            OperationErrorCode.STAGE_NOT_IN_CAMPAIGN, "This stage is not a stage of the member's campaign.", "stageId"
        )
    checked.result, checked.reason = result, reason
    if data.script_id is not None:
        checked.answers = await _script_answers(campaign, action, data)
    return checked


async def _script_answers(campaign: Campaign, action: ActionType | None, data: OperationInput) -> list[Answer]:
    """The script is one the agent could choose here (the campaign's, or the chosen or default action
    type's), and the answers follow its path (resolvers/script.py)."""
    script: Script = await _entry(
        Script, data.script_id, OperationErrorCode.UNKNOWN_SCRIPT, "scriptAnswers.scriptId", "script"
    )
    offered = {campaign.script_id, action.script_id if action else None}
    if campaign.default_action_type_id is not None:
        default = ActionType.filter(id=campaign.default_action_type_id).first()
        offered.add(await default.values_list("script_id", flat=True))
    if script.pk not in offered and not await CampaignScript.filter(
        campaign_id=campaign.pk, script_id=script.pk
    ).exists():
        raise OperationError(
            OperationErrorCode.SCRIPT_NOT_IN_CAMPAIGN,
            "This script is not one of the campaign's or the action type's.", "scriptAnswers.scriptId",
        )
    return check_answers(script, list(data.script_answers))


def _check_claim(user: User, member: CampaignMember, now: datetime) -> None:
    if member.status == QueueStatus.REMOVED:
        raise OperationError(
            OperationErrorCode.MEMBER_REMOVED, "This member was removed from the campaign.", "memberId"
        )
    if member.status == QueueStatus.CONCLUDED:
        raise OperationError(OperationErrorCode.MEMBER_CONCLUDED, "This member is concluded.", "memberId")
    if member.claimed_by_id != user.pk:
        raise OperationError(
            OperationErrorCode.MEMBER_NOT_CLAIMED, "Claim the member before recording an operation.", "memberId"
        )
    if member.claim_expires_at is None or member.claim_expires_at <= now:
        raise OperationError(
            OperationErrorCode.CLAIM_EXPIRED, "Your hold on this member expired; claim it again.", "memberId"
        )


def _next_state(
    ctx: Context, checked: _Checked, data: OperationInput, attempts: int, now: datetime
) -> dict[str, object]:
    """The member's queue status and position after this attempt (callbacks are handled apart)."""
    campaign, result = checked.campaign, checked.result
    concluded = {"status": QueueStatus.CONCLUDED, "priority": QueuePriority.DONE.value, "due_at": None}
    if result is not None and result.kind == ResultKind.SUCCESS:
        return concluded
    if result is not None and result.kind == ResultKind.FAILURE:
        if result.recycle_after_minutes is None:
            return concluded
        limit = min(campaign.max_attempts, result.recycle_max_attempts or campaign.max_attempts)
        delay = timedelta(minutes=result.recycle_after_minutes)
    elif data.no_contact:
        limit, delay = campaign.max_attempts, timedelta(minutes=campaign.retry_after_minutes)
    else:
        return concluded
    if attempts >= limit:
        return concluded
    return {
        "status": QueueStatus.SCHEDULED,
        "priority": QueuePriority.RECYCLE.value,
        "due_at": rules.next_calling_time(campaign, now + delay, ctx.settings.zone),
    }


def _event(kind: str, entity: str, entity_id: int, campaign_id: int, agent_id: int | None, **data: object) -> EventSpec:
    return EventSpec(kind=kind, entity=entity, entity_id=entity_id, campaign_id=campaign_id, agent_id=agent_id,
                     data=dict(data))


async def _close_pending(connection: BaseDBAsyncClient, member: CampaignMember, now: datetime) -> list[Event]:
    events = []
    for callback in await Callback.filter(member_id=member.pk, status=CallbackStatus.PENDING).using_db(connection):
        await Callback.filter(id=callback.pk).using_db(connection).update(status=CallbackStatus.DONE, closed_at=now)
        events.append(await record(connection, _event(
            "CALLBACK_DONE", "callback", callback.pk, member.campaign_id, callback.agent_id, member_id=member.pk
        )))
    return events


async def record_operation(ctx: Context, data: OperationInput) -> Operation:
    user = ctx.require_user()
    if data.script_answers and data.script_id is None:
        raise OperationError(OperationErrorCode.INVALID, "Answers go with their scriptId.", "scriptAnswers")
    if data.callback_at is not None and data.callback_at.tzinfo is not None:
        data = replace(data, callback_at=data.callback_at.astimezone(UTC))
    member = await CampaignMember.get_or_none(id=data.member_id)
    if member is None:
        raise OperationError(OperationErrorCode.NOT_FOUND, "No such member.", "memberId")
    checked = await _validate(ctx, user, data, member)
    campaign = checked.campaign
    delete_suspect = _conversion(ctx, data)
    events: list[Event] = []
    async with in_transaction() as connection:
        now = rules.utc_now()
        member = await CampaignMember.filter(id=member.pk).select_for_update(of=("campaign_member",)).using_db(
            connection
        ).get()
        _check_claim(user, member, now)
        opted_out, phones = await Person.filter(id=member.person_id).using_db(connection).get().values_list(
            "do_not_call", "phones"
        )
        if opted_out:
            raise OperationError(
                OperationErrorCode.PERSON_DO_NOT_CALL, "This person is on the do-not-call list.", "memberId"
            )
        if blocked(phones, await listed_numbers(phones, now, connection)):
            raise OperationError(
                OperationErrorCode.PHONE_ON_DO_NOT_CALL_REGISTER,
                "A phone of this person is on the do-not-call register.",
                "memberId",
            )
        # The call ends: WRAP_UP for the campaign's wrap-up time, or READY (resolvers/floor.py). The
        # agent's state row is locked before any event is recorded: the event counter is always the
        # last lock taken (the floor's sweeper locks state rows, then the counter).
        ended = await end_call(connection, user.pk, campaign, now, StateChangeCause.RECORD, user.pk)
        attempts = member.attempts + 1
        stage_id = data.stage_id if data.stage_id is not None else member.stage_id
        operation = await Operation.create(
            member_id=member.pk, campaign_id=campaign.pk, person_id=member.person_id, agent_id=user.pk,
            stage_id=stage_id, action_type_id=data.action_type_id, channel_id=data.channel_id,
            result_id=data.result_id, result_kind=checked.result.kind.value if checked.result else None,
            justification_id=data.justification_id, notes=data.notes.strip(), conversation=data.conversation,
            no_contact=data.no_contact, no_contact_reason_id=data.no_contact_reason_id,
            callback_at=data.callback_at, attempt=attempts, script_id=data.script_id,
            local_date=now.astimezone(ctx.settings.zone).date(), using_db=connection,
            **handling_values(member, data.talk_seconds, data.wrap_up_seconds, now, ctx.settings.zone),
        )
        if checked.answers:
            await ScriptAnswer.bulk_create(
                [ScriptAnswer(operation_id=operation.pk, script_id=data.script_id, position=answer.position,
                              question_key=answer.key, prompt=answer.prompt, answer_type=answer.type,
                              value=answer.value) for answer in checked.answers],
                using_db=connection,
            )
        events += await _close_pending(connection, member, now)
        changes: dict[str, object] = {
            "attempts": attempts, "stage_id": stage_id, "last_operation_id": operation.pk, "last_acted_at": now,
            "claimed_by_id": None, "claim_expires_at": None, "claimed_at": None, "next_callback_id": None,
            "reserved_agent_id": None, "reserved_until": None,
        }
        if data.callback_at is not None:
            owner = user.pk if data.callback_for == CallbackFor.ME else None
            opens_at = rules.callback_opens_at(campaign, owner, data.callback_at)
            callback = await Callback.create(
                member_id=member.pk, campaign_id=campaign.pk, agent_id=owner, operation_id=operation.pk,
                due_at=data.callback_at, opens_at=opens_at, using_db=connection,
            )
            changes.update(
                status=QueueStatus.SCHEDULED, priority=QueuePriority.CALLBACK.value, due_at=data.callback_at,
                next_callback_id=callback.pk,
            )
            if owner is not None:
                # Under either policy a callback for me holds the member for me until it opens.
                changes.update(reserved_agent_id=owner, reserved_until=opens_at)
            events.append(await record(connection, _event(
                "CALLBACK_SCHEDULED", "callback", callback.pk, campaign.pk, owner, member_id=member.pk
            )))
        else:
            changes.update(_next_state(ctx, checked, data, attempts, now))
        await CampaignMember.filter(id=member.pk).using_db(connection).update(**changes)
        done = [event.entity_id for event in events if event.kind == "CALLBACK_DONE"]
        await history.operation_recorded(connection, member, user, operation.pk, changes, done)
        events.append(await record(connection, _event(
            "OPERATION_RECORDED", "member", member.pk, campaign.pk, user.pk,
            operation_id=operation.pk, result_kind=operation.result_kind,
        )))
        if delete_suspect is not None:
            operation.person_id = await _convert(member.person_id, delete_suspect, user.pk)
        if ended is not None:
            events.append(await record(connection, ended))
    await publish(ctx.broadcast, events)
    return operation


def _conversion(ctx: Context, data: OperationInput) -> bool | None:
    """None: no conversion asked; else whether it deletes the suspect."""
    if not data.convert_suspect:
        if data.delete_suspect is not None:
            raise OperationError(OperationErrorCode.INVALID, "deleteSuspect goes with convertSuspect.", "deleteSuspect")
        return None
    try:
        return person_use_cases.deletes_suspect(ctx, data.delete_suspect)
    except PersonError as error:
        raise OperationError(OperationErrorCode.DELETE_SUSPECT_REQUIRED, error.message, error.field) from None


async def _convert(person_id: int, delete: bool, actor_id: int) -> int:
    """The member's suspect converted (a savepoint of the operation's transaction); the prospect's id."""
    try:
        conversion = await person_use_cases.convert_suspect(person_id, delete, actor_id)
    except PersonError as error:
        if error.code == PersonErrorCode.NOT_A_SUSPECT:
            raise OperationError(
                OperationErrorCode.NOT_A_SUSPECT, "Only a suspect can be converted.", "convertSuspect"
            ) from None
        raise
    return conversion.prospect.pk
