"""The outbound part of `contato seed --size`: campaigns, members, operation history and callbacks.

Every generated person is a member of one generated campaign ("Campanha gerada N", one per 10,000
persons). Four in five members have been worked: their operations (`operations` in all, spread so that
some members have one attempt and others many) follow the rules operationRecord applies, so the data
is what a running operation would have left behind:

- attempts are numbered 1..k and dated on calling days of the campaign, in calling hours, one or more
  days apart, newest within the last 20 calling days; ids grow with time, so a member's last operation is
  both its newest and its highest id, and `member.lastOperation` points to it;
- an earlier attempt is one that leaves the member open: "Ocupado / não atende" while under the result's
  recycle limit, a no-contact attempt ("Não atende", "Caixa postal") while under the campaign's
  max_attempts, or "Retornar depois" with a callback that the next attempt honoured (DONE, closed then);
- the last attempt decides the member's state as operationRecord does: a sale or a refusal concludes it;
  "Ocupado" and no-contact attempts recycle it (SCHEDULED, due after the delay, in calling hours) or
  conclude it at the limit; "Retornar depois" books a PENDING callback (the member's nextCallback,
  reserved for the agent under USER_ONLY), due in the past for about half of them (already alerted) and in
  the future for the rest;
- the fifth never worked stays NOT_ACTED; a few of those persons are on the do-not-call list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from contato.seed_bulk import BulkWriter, flat_ints, mix
from contato.seed_outbound import outbound_catalogs
from models.campaign import (
    CallbackPolicy,
    Campaign,
    CampaignAgent,
    CampaignStage,
    QueuePriority,
    QueueStatus,
)
from models.catalog import ContactChannel
from models.operation import CallbackStatus
from models.outbound import ContactResult, JustificationResult, NoContactReason
from models.user import Role, User
from resolvers.campaign import rules

PERSONS_PER_CAMPAIGN = 10_000
CAMPAIGN_NAME = "Campanha gerada {number}"
HISTORY_DAYS = 250  # calling days a member's history may span (the campaigns start before them)
RECENT_DAYS = 20  # a member's last attempt is within this many calling days
MAX_ATTEMPTS = 10  # the generated campaigns' max_attempts
OPENS_AFTER_MINUTES = 60  # an agent's overdue callback opens to the whole campaign after this long
MAX_OPERATIONS_PER_PERSON = 50
# The last attempt's outcome, out of 20: sale, refusal, busy, no contact, callback.
LAST_OUTCOMES = ("SUCCESS",) * 4 + ("REFUSAL",) * 4 + ("BUSY",) * 3 + ("NO_CONTACT",) * 3 + ("SCHEDULE",) * 6
NOTES = {
    "SUCCESS": "Cliente aceitou a proposta de renovação.",
    "REFUSAL": "Cliente agradeceu, sem interesse no momento.",
    "BUSY": "Linha ocupada.",
    "NO_CONTACT": "Chamou até cair.",
    "SCHEDULE": "Cliente pediu retorno em outro horário.",
}

NOT_ACTED, SCHEDULED, CONCLUDED = (status.value for status in QueueStatus if status != QueueStatus.REMOVED)
PENDING, DONE = CallbackStatus.PENDING.value, CallbackStatus.DONE.value

MEMBER_COLUMNS = (
    "id", "created_at", "updated_at", "status", "attempts", "last_operation_id", "next_callback_id",
    "last_acted_at", "priority", "due_at", "reserved_until", "claim_expires_at", "assigned_agent_id",
    "campaign_id", "claimed_by_id", "person_id", "reserved_agent_id", "stage_id",
)
OPERATION_COLUMNS = (
    "id", "created_at", "updated_at", "result_kind", "notes", "conversation", "no_contact", "callback_at",
    "attempt", "local_date", "action_type_id", "agent_id", "campaign_id", "channel_id", "justification_id",
    "member_id", "no_contact_reason_id", "person_id", "result_id", "stage_id",
)
CALLBACK_COLUMNS = (
    "id", "created_at", "updated_at", "due_at", "status", "alerted_at", "closed_at", "agent_id", "campaign_id",
    "member_id", "operation_id", "opened_alerted_at", "opens_at",
)


@dataclass(frozen=True)
class OutboundPlan:
    """Who gets how many operations, from the person's generation index p alone (0-based).

    Four persons in five are worked (p % 5 != 4). The j-th of them gets its even share of `operations`,
    then neighbours 2i and 2i+1 trade a random part of it, so counts range from 1 to about twice the mean
    while the total stays exactly `operations` on a fresh database.
    """

    persons: int
    operations: int

    @property
    def campaigns(self) -> int:
        return max(1, self.persons // PERSONS_PER_CAMPAIGN)

    @property
    def worked(self) -> int:
        return 4 * (self.persons // 5) + min(self.persons % 5, 4)

    def campaign(self, p: int) -> int:
        """The generated campaign (0-based) of person p: five persons in a row go to the same one, so that
        every campaign gets its share of the never worked."""
        return (p // 5) % self.campaigns

    @staticmethod
    def do_not_call(p: int) -> bool:
        return p % 5 == 4 and mix(p, 31) % 100 == 0  # one in a hundred of the never worked

    def _share(self, j: int) -> int:
        return (j + 1) * self.operations // self.worked - j * self.operations // self.worked

    def attempts(self, p: int) -> int:
        if p % 5 == 4:
            return 0
        j = 4 * (p // 5) + p % 5
        if j >= self.worked:
            return 0
        share = self._share(j)
        partner = j ^ 1
        if partner >= self.worked:
            return share
        spread = min(share, self._share(partner))
        traded = mix(j >> 1, 1) % spread if spread > 1 else 0
        return share - traded if j % 2 == 0 else share + traded


@dataclass(frozen=True)
class CallingDay:
    day: date
    midnight: datetime  # local midnight, in UTC
    start: int  # calling hours, minutes after local midnight
    end: int


def past_calling_days(campaign: Campaign, zone: ZoneInfo, today: date, count: int) -> list[CallingDay]:
    """The campaign's calling days before today, newest first."""
    days: list[CallingDay] = []
    day = today
    while len(days) < count:
        day -= timedelta(days=1)
        hours = rules.window(campaign, day)
        if hours is not None and hours[1] > hours[0]:
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
            days.append(CallingDay(day, midnight, hours[0], hours[1]))
    return days


@dataclass
class GeneratedCampaign:
    campaign: Campaign
    stage_id: int
    agent_ids: list[int]
    days: list[CallingDay]
    busy_limit: int  # attempts after which a busy line concludes the member
    user_only: bool  # an agent's callback reserves the member for them

    @property
    def since(self) -> datetime:
        return self.days[-1].midnight


@dataclass(frozen=True)
class Outcome:
    result_id: int | None  # None: a no-contact attempt
    kind: str | None
    justifications: tuple[int, ...]
    notes: str


@dataclass
class Catalog:
    outcomes: dict[str, Outcome]  # SUCCESS, REFUSAL, BUSY, NO_CONTACT, SCHEDULE
    busy: ContactResult
    reasons: list[int]  # no-contact reasons that need no callback
    channels: list[int | None]
    action_type_id: int


@dataclass
class OutboundChunk:
    """The memberships of one chunk of fresh persons: ids reserved first, rows built, then written."""

    persons: list[tuple[int, int]]  # (generation index, person id)
    attempts: list[int]
    first_member: int
    first_operation: int
    members: list[list[object]] = field(default_factory=list)
    operations: list[tuple[object, ...]] = field(default_factory=list)
    callbacks: list[list[object]] = field(default_factory=list)  # ids numbered within the chunk until numbered

    def number_callbacks(self, first: int) -> None:
        for number, callback in enumerate(self.callbacks):
            callback[0] = first + number
        for member in self.members:
            if member[6] is not None:  # next_callback_id
                member[6] = first + cast(int, member[6])

    async def write(self, writer: BulkWriter) -> None:
        await writer.insert("campaign_member", MEMBER_COLUMNS, [tuple(member) for member in self.members])
        await writer.insert("operation", OPERATION_COLUMNS, self.operations)
        await writer.insert("callback", CALLBACK_COLUMNS, [tuple(callback) for callback in self.callbacks])


class OutboundVolume:
    """Builds the memberships of freshly generated persons, with their history, chunk by chunk."""

    def __init__(self, plan: OutboundPlan, campaigns: list[GeneratedCampaign], catalog: Catalog,
                 zone: ZoneInfo, now: datetime) -> None:
        self.plan = plan
        self.campaigns = campaigns
        self.catalog = catalog
        self.zone = zone
        self.now = now

    @property
    def since(self) -> datetime:
        return min(campaign.since for campaign in self.campaigns)

    async def reserve(self, writer: BulkWriter, persons: list[tuple[int, int]]) -> OutboundChunk:
        attempts = [self.plan.attempts(p) for p, _ in persons]
        first_member = await writer.reserve_ids("campaign_member", len(persons))
        first_operation = await writer.reserve_ids("operation", sum(attempts))
        return OutboundChunk(persons, attempts, first_member, first_operation)

    def build(self, chunk: OutboundChunk) -> None:
        """Pure computation (no database), so that it can run in a thread while the previous chunk is written."""
        next_operation = chunk.first_operation
        for offset, ((p, person_id), count) in enumerate(zip(chunk.persons, chunk.attempts)):
            chunk.members.append(self._member(
                p, person_id, chunk.first_member + offset, next_operation, count, chunk.operations, chunk.callbacks
            ))
            next_operation += count

    def _member(self, p: int, person_id: int, member_id: int, first_operation: int, count: int,
                operations: list[tuple[object, ...]], callbacks: list[list[object]]) -> list[object]:
        generated = self.campaigns[self.plan.campaign(p)]
        campaign, catalog, now = generated.campaign, self.catalog, self.now
        campaign_id, stage_id, since = campaign.pk, generated.stage_id, generated.since
        if count == 0:
            return [member_id, since, since, NOT_ACTED, 0, None, None, None, QueuePriority.NEW.value, None, None,
                    None, None, campaign_id, None, person_id, None, stage_id]
        busy_limit, max_attempts = generated.busy_limit, campaign.max_attempts
        days, agents, channels, reasons = generated.days, generated.agent_ids, catalog.channels, catalog.reasons
        # When the attempts happened: the last within RECENT_DAYS calling days, the others gap days apart.
        latest = mix(p, 4) % RECENT_DAYS
        gap = 0 if count == 1 else max(1, min(1 + mix(p, 5) % 3, (len(days) - 1 - latest) // (count - 1)))
        times: list[tuple[datetime, date]] = []
        for attempt in range(1, count + 1):
            calling = days[min(len(days) - 1, latest + (count - attempt) * gap)]
            noise = mix(p << 7 | attempt, 6)
            span = max(1, calling.end - calling.start - 120)  # room for a same-day recycle or callback
            moment = timedelta(minutes=calling.start + noise % span, seconds=(noise >> 12) % 60)
            times.append((calling.midnight + moment, calling.day))
        agent_base, roams = mix(p, 2), mix(p, 3) % 3 == 0
        next_callback: int | None = None
        reserved_agent: int | None = None
        reserved_until: datetime | None = None
        name = "SCHEDULE"
        callback_at: datetime | None = None
        for attempt in range(1, count + 1):
            operation_id = first_operation + attempt - 1
            at, local_day = times[attempt - 1]
            noise = mix(p << 7 | attempt, 7)
            if attempt == count:
                name = LAST_OUTCOMES[mix(p, 8) % len(LAST_OUTCOMES)]
            elif attempt < busy_limit and noise % 6 < 2:
                name = "BUSY"
            elif attempt < max_attempts and noise % 6 < 4:
                name = "NO_CONTACT"
            else:
                name = "SCHEDULE"
            outcome = catalog.outcomes[name]
            agent_id = agents[(agent_base + (attempt if roams else 0)) % len(agents)]
            allowed = outcome.justifications
            justification = allowed[(noise >> 8) % len(allowed)] if allowed and (noise >> 4) % 3 else None
            callback_at = None
            if name == "SCHEDULE":
                owner = agent_id if (noise >> 12) % 4 else None
                if attempt < count:  # honoured by the next attempt, which closed it
                    callback_at = times[attempt][0]
                    opens_at = rules.callback_opens_at(campaign, owner, callback_at)
                    callbacks.append([None, at, callback_at, callback_at, DONE, callback_at, callback_at, owner,
                                      campaign_id, member_id, operation_id, None, opens_at])
                else:
                    callback_at = self._pending_due(p, at, latest, campaign)
                    opens_at = rules.callback_opens_at(campaign, owner, callback_at)
                    next_callback = len(callbacks)
                    callbacks.append([
                        None, at, at, callback_at, PENDING, callback_at if callback_at <= now else None, None, owner,
                        campaign_id, member_id, operation_id, opens_at if opens_at is not None and opens_at <= now
                        else None, opens_at,
                    ])
                    if owner is not None and generated.user_only:
                        opens = campaign.callback_opens_after_minutes
                        reserved_agent = owner
                        reserved_until = callback_at + timedelta(minutes=opens) if opens is not None else None
            no_contact = outcome.result_id is None
            operations.append((
                operation_id, at, at, outcome.kind, outcome.notes, "", no_contact, callback_at, attempt, local_day,
                catalog.action_type_id, agent_id, campaign_id,
                channels[0 if noise % 8 else (noise >> 20) % len(channels)], justification, member_id, reasons[(noise >> 16) % len(reasons)] if no_contact else None, person_id,
                outcome.result_id, stage_id,
            ))
        last_at = times[-1][0]
        status, priority = CONCLUDED, QueuePriority.DONE.value
        due_at: datetime | None = None
        if name == "SCHEDULE":
            status, priority, due_at = SCHEDULED, QueuePriority.CALLBACK.value, callback_at
        elif (name == "BUSY" and count < busy_limit) or (name == "NO_CONTACT" and count < max_attempts):
            delay = catalog.busy.recycle_after_minutes if name == "BUSY" else campaign.retry_after_minutes
            status, priority = SCHEDULED, QueuePriority.RECYCLE.value
            due_at = rules.next_calling_time(campaign, last_at + timedelta(minutes=delay or 0), self.zone)
        return [member_id, since, last_at, status, count, first_operation + count - 1, next_callback, last_at,
                priority, due_at, reserved_until, None, None, campaign_id, None, person_id, reserved_agent, stage_id]

    def _pending_due(self, p: int, at: datetime, latest: int, campaign: Campaign) -> datetime:
        """A callback booked at `at`: about half are due by now (overdue), the others later on."""
        noise = mix(p, 10)
        if noise % 2:
            delay = 30 + (noise >> 1) % max(1, latest * 24 * 60)
        else:
            delay = (latest + 2) * 24 * 60 + (noise >> 1) % (10 * 24 * 60)
        return rules.next_calling_time(campaign, at + timedelta(minutes=delay), self.zone)


async def prepare(plan: OutboundPlan, zone: ZoneInfo, now: datetime) -> OutboundVolume | None:
    """The generated campaigns (made once, idempotent) and the catalogs; None without agents."""
    results, action, _ = await outbound_catalogs()
    agents = [user.pk for user in await User.filter(role=Role.AGENT, active=True).order_by("id")]
    if not agents or plan.persons <= 0:
        return None
    today = now.astimezone(zone).date()
    campaigns: list[GeneratedCampaign] = []
    for number in range(1, plan.campaigns + 1):
        draft = Campaign(name=CAMPAIGN_NAME.format(number=number), start_date=today, default_action_type=action,
                         saturday_start_minute=10 * 60, saturday_end_minute=16 * 60, max_attempts=MAX_ATTEMPTS,
                         callback_opens_after_minutes=OPENS_AFTER_MINUTES)
        campaign = await Campaign.get_or_none(name=draft.name)
        if campaign is None:
            campaign = draft
            campaign.start_date = past_calling_days(campaign, zone, today, HISTORY_DAYS)[-1].day
            await campaign.save()
            await CampaignStage.create(campaign=campaign, name="Contato", position=1)
            await CampaignAgent.bulk_create([CampaignAgent(campaign=campaign, agent_id=agent) for agent in agents])
        days = past_calling_days(campaign, zone, today, HISTORY_DAYS)
        if campaign.start_date > days[-1].day:  # made by an earlier seed with a shorter history
            campaign.start_date = days[-1].day
            await Campaign.filter(id=campaign.pk).update(start_date=campaign.start_date)
        stage = await CampaignStage.filter(campaign_id=campaign.pk).order_by("position", "id").first()
        if stage is None:
            stage = await CampaignStage.create(campaign=campaign, name="Contato", position=1)
        linked = await flat_ints(CampaignAgent.filter(
            campaign_id=campaign.pk, agent__active=True, agent__role=Role.AGENT
        ).order_by("agent_id").values_list("agent_id", flat=True))
        busy = results["Ocupado / não atende"]
        campaigns.append(GeneratedCampaign(
            campaign, stage.pk, linked or agents, days,
            busy_limit=min(campaign.max_attempts, busy.recycle_max_attempts or campaign.max_attempts),
            user_only=campaign.callback_policy == CallbackPolicy.USER_ONLY,
        ))
    justifications: dict[int, list[int]] = {}
    for justification_id, result_id in await JustificationResult.filter(justification__active=True).order_by(
        "id"
    ).values_list("justification_id", "result_id"):
        justifications.setdefault(int(result_id), []).append(int(justification_id))
    reasons = await flat_ints(
        NoContactReason.filter(requires_callback=False, active=True).order_by("id").values_list("id", flat=True)
    )
    channels: list[int | None] = [
        *await flat_ints(ContactChannel.filter(active=True).order_by("id").values_list("id", flat=True))
    ]

    def outcome(name: str, result: ContactResult | None) -> Outcome:
        if result is None:
            return Outcome(None, None, (), NOTES[name])
        return Outcome(result.pk, result.kind.value, tuple(justifications.get(result.pk, ())), NOTES[name])

    catalog = Catalog(
        outcomes={
            "SUCCESS": outcome("SUCCESS", results["Venda realizada"]),
            "REFUSAL": outcome("REFUSAL", results["Sem interesse"]),
            "BUSY": outcome("BUSY", results["Ocupado / não atende"]),
            "NO_CONTACT": outcome("NO_CONTACT", None),
            "SCHEDULE": outcome("SCHEDULE", results["Retornar depois"]),
        },
        busy=results["Ocupado / não atende"], reasons=reasons, channels=channels or [None], action_type_id=action.pk,
    )
    return OutboundVolume(plan, campaigns, catalog, zone, now)
