"""Rows of campaign members: a person by document (created from the row's person columns when new),
with stage and assigned agent, refused when opted out or on the do-not-call register now."""

from __future__ import annotations

from dataclasses import dataclass, field

from tortoise.backends.base.client import BaseDBAsyncClient

from models.campaign import CampaignAgent, CampaignMember, CampaignStage, QueuePriority, QueueStatus
from models.data_import import ImportMode
from models.person import Person
from models.user import User
from resolvers.campaign import rules
from resolvers.do_not_call import blocked, listed_numbers
from resolvers.documents import digits, fold
from resolvers.errors import CampaignErrorCode, OperationErrorCode, PersonErrorCode
from resolvers.imports.persons import PersonPlan, RowError, plan_persons, write_persons
from resolvers.imports.reader import Row
from resolvers.imports.staging import copy_rows, fetch, is_postgres


@dataclass
class CampaignFacts:
    campaign_id: int
    stages: dict[str, int]  # folded name or position -> stage id
    first_stage: int | None
    agents: set[int]

    @classmethod
    async def load(cls, campaign_id: int) -> CampaignFacts:
        stages: dict[str, int] = {}
        first: int | None = None
        for stage in await CampaignStage.filter(campaign_id=campaign_id).order_by("position", "id"):
            first = stage.pk if first is None else first
            stages.setdefault(fold(stage.name).strip(), stage.pk)
            stages.setdefault(str(stage.position), stage.pk)
        agents = set(await CampaignAgent.filter(campaign_id=campaign_id).values_list("agent_id", flat=True))
        return cls(campaign_id, stages, first, agents)


@dataclass
class MemberPlan:
    persons: PersonPlan
    # (row, document, person id or None for a person this batch creates, member values)
    inserts: list[tuple[Row, str, int | None, dict[str, object]]] = field(default_factory=list)
    updates: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _error(row: Row, name: str, code: str, message: str) -> RowError:
    return RowError(row.number, row.columns.get(name, name), code, message)


async def plan_members(rows: list[Row], mode: ImportMode, facts: CampaignFacts) -> MemberPlan:
    """A fixed number of queries per batch: persons, companies, register, agents, members."""
    with_person = [row for row in rows if row.values.get("name")]
    persons = await plan_persons(with_person, ImportMode.INSERT, stage_field="person_stage")
    plan = MemberPlan(persons=persons)
    plan.errors += persons.errors
    refused = {error.row for error in persons.errors}
    new_documents = {str(values["document"]) for _, values in persons.inserts}
    documents = {digits(row.values.get("document", "")) for row in rows} - {""}
    found = {
        key: (pk, opted_out, phones)
        for pk, key, opted_out, phones in await Person.filter(document_key__in=documents).values_list(
            "id", "document_key", "do_not_call", "phones"
        )
    }
    listed = await listed_numbers(
        [phone for _, _, phones in found.values() for phone in phones]
        + [phone for _, values in persons.inserts for phone in values["phones"]],  # type: ignore[attr-defined]
        rules.utc_now(),
    )
    emails = {row.values["agent"].strip().lower() for row in rows if row.values.get("agent")}
    agents = dict(await User.filter(email__in=emails).values_list("email", "id")) if emails else {}
    members = dict(
        await CampaignMember.filter(
            campaign_id=facts.campaign_id, person_id__in=[pk for pk, _, _ in found.values()]
        ).values_list("person_id", "id")
    )
    statuses = dict(await CampaignMember.filter(id__in=list(members.values())).values_list("id", "status"))
    new_values = {str(values["document"]): values for _, values in persons.inserts}
    seen: set[str] = set()
    for row in rows:
        if row.number in refused:
            continue
        document = digits(row.values.get("document", ""))
        if not document:
            plan.errors.append(_error(row, "document", PersonErrorCode.INVALID.value, "The document is empty."))
            continue
        if document in seen:
            plan.errors.append(_error(row, "document", PersonErrorCode.DUPLICATE_DOCUMENT.value,
                                      "This person is on another row of the file."))
            continue
        seen.add(document)
        if document in found:
            person_id, opted_out, phones = found[document]
        elif document in new_documents:
            person_id, opted_out, phones = None, bool(new_values[document]["do_not_call"]), new_values[document]["phones"]
        else:
            plan.errors.append(_error(row, "document", PersonErrorCode.NOT_FOUND.value,
                                      "No person has this document (give the person columns to create one)."))
            continue
        if opted_out:
            plan.errors.append(_error(row, "document", OperationErrorCode.PERSON_DO_NOT_CALL.value,
                                      "This person is on the do-not-call list."))
            continue
        if blocked(phones, listed):  # type: ignore[arg-type]
            plan.errors.append(_error(row, "phones" if person_id is None else "document",
                                      OperationErrorCode.PHONE_ON_DO_NOT_CALL_REGISTER.value,
                                      "A phone of this person is on the do-not-call register."))
            continue
        values: dict[str, object] = {}
        stage_text = row.values.get("stage", "")
        if stage_text:
            stage_id = facts.stages.get(fold(stage_text).strip())
            if stage_id is None:
                plan.errors.append(_error(row, "stage", CampaignErrorCode.STAGE_NOT_IN_CAMPAIGN.value,
                                          f"{stage_text!r} is not a stage of the campaign."))
                continue
            values["stage_id"] = stage_id
        agent_text = row.values.get("agent", "")
        if agent_text:
            agent_id = agents.get(agent_text.strip().lower())
            if agent_id is None:
                plan.errors.append(_error(row, "agent", CampaignErrorCode.UNKNOWN_AGENT.value,
                                          f"No user with the e-mail {agent_text!r}."))
                continue
            if agent_id not in facts.agents:
                plan.errors.append(_error(row, "agent", CampaignErrorCode.AGENT_NOT_ASSIGNED.value,
                                          "This agent is not assigned to the campaign."))
                continue
            values["assigned_agent_id"] = agent_id
        member_id = members.get(person_id) if person_id is not None else None
        if member_id is None:
            values.setdefault("stage_id", facts.first_stage)
            plan.inserts.append((row, document, person_id, values))
        elif mode == ImportMode.UPSERT:
            if statuses.get(member_id) == QueueStatus.REMOVED:
                values.update(status=QueueStatus.NOT_ACTED, priority=QueuePriority.NEW.value, due_at=None)
            plan.updates.append((member_id, values))
        else:
            plan.errors.append(_error(row, "document", "ALREADY_MEMBER",
                                      "This person is already in the campaign (import with UPSERT to update)."))
    # A refused row writes nothing: not even the person its columns describe.
    accepted = {row.number for row, _, _, _ in plan.inserts}
    persons.inserts = [(row, values) for row, values in persons.inserts if row.number in accepted]
    return plan


async def write_members(connection: BaseDBAsyncClient, plan: MemberPlan, facts: CampaignFacts) -> tuple[int, int]:
    """Write the batch's new persons, then its members; returns (members inserted, members updated)."""
    refused = len(plan.persons.errors)
    await write_persons(connection, plan.persons)
    plan.errors += plan.persons.errors[refused:]  # a person a concurrent writer took: its row is refused
    # (row, person id, member values) of the members to insert, each person now written
    inserts = [
        (row, person_id or plan.persons.ids[document], values)
        for row, document, person_id, values in plan.inserts
        if person_id or document in plan.persons.ids
    ]
    if is_postgres(connection):
        return await _write_postgres(connection, plan, facts, inserts)
    if inserts:
        await CampaignMember.bulk_create([
            CampaignMember(campaign_id=facts.campaign_id, person_id=person_id, **values)
            for _, person_id, values in inserts
        ], using_db=connection)
    for member_id, values in plan.updates:
        if values:
            await CampaignMember.filter(id=member_id).using_db(connection).update(**values)
    return len(inserts), len(plan.updates)


_STAGE = "import_member_stage"
_STAGE_COLUMNS = ("member_id", "person_id", "stage_id", "assigned_agent_id", "set_stage", "set_agent", "reactivate")
_STAGE_DEFINITION = (
    "member_id int, person_id int, stage_id int, assigned_agent_id int, set_stage boolean, set_agent boolean, "
    "reactivate boolean"
)
# One statement over the staged rows: the plan's updates (by member id; a row changes only what its
# file row gives, and a REMOVED member comes back as new) and its inserts. A member a concurrent
# writer added since the plan read is skipped by ON CONFLICT and reported.
_MERGE = (
    'WITH updated AS (UPDATE "campaign_member" m SET '
    '"stage_id" = CASE WHEN s.set_stage THEN s.stage_id ELSE m."stage_id" END, '
    '"assigned_agent_id" = CASE WHEN s.set_agent THEN s.assigned_agent_id ELSE m."assigned_agent_id" END, '
    '"status" = CASE WHEN s.reactivate THEN $2 ELSE m."status" END, '
    '"priority" = CASE WHEN s.reactivate THEN $3 ELSE m."priority" END, '
    '"due_at" = CASE WHEN s.reactivate THEN NULL ELSE m."due_at" END, '
    f'"updated_at" = now() FROM {_STAGE} s WHERE s.member_id IS NOT NULL AND m.id = s.member_id RETURNING m.id), '
    'inserted AS (INSERT INTO "campaign_member" ("campaign_id", "person_id", "stage_id", "assigned_agent_id", '
    '"status", "attempts", "priority", "created_at", "updated_at") '
    f"SELECT $1, s.person_id, s.stage_id, s.assigned_agent_id, $2, 0, $3, now(), now() FROM {_STAGE} s "
    'WHERE s.member_id IS NULL ON CONFLICT ("campaign_id", "person_id") DO NOTHING RETURNING "person_id") '
    "SELECT person_id FROM inserted UNION ALL SELECT NULL FROM updated"
)


async def _write_postgres(
    connection: BaseDBAsyncClient, plan: MemberPlan, facts: CampaignFacts,
    inserts: list[tuple[Row, int, dict[str, object]]],
) -> tuple[int, int]:
    """COPY the batch's members into the staging table, then `_MERGE` (resolvers/imports/staging.py)."""
    records = [
        (None, person_id, values.get("stage_id"), values.get("assigned_agent_id"), False, False, False)
        for _, person_id, values in inserts
    ]
    records += [
        (member_id, None, values.get("stage_id"), values.get("assigned_agent_id"), "stage_id" in values,
         "assigned_agent_id" in values, "status" in values)
        for member_id, values in plan.updates if values
    ]
    if not records:
        return 0, len(plan.updates)
    async with connection.acquire_connection() as raw:
        await copy_rows(connection, raw, _STAGE, _STAGE_DEFINITION, _STAGE_COLUMNS, records)
        written = await fetch(connection, raw, _MERGE, facts.campaign_id, QueueStatus.NOT_ACTED.value,
                              QueuePriority.NEW.value)
    added = {person_id for (person_id,) in written if person_id is not None}
    for row, person_id, _ in inserts:
        if person_id not in added:
            plan.errors.append(_error(row, "document", "ALREADY_MEMBER",
                                      "This person was added to the campaign meanwhile."))
    return len(added), len(plan.updates)
