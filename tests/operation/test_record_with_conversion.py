"""operationRecord(convertSuspect): the attendance converts its suspect to a prospect in the same
transaction, under the same SUSPECT_CONVERSION policy (DELETE / KEEP / ASK) as personConvert."""

from dataclasses import replace

import pytest

from contato.settings import SuspectConversion
from models.campaign import CampaignMember
from models.event import Event
from models.operation import Operation
from models.outbound import ResultKind
from models.person import Person, PersonConversion, PersonStage
from models.user import Role
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

RECORD = """
mutation OperationRecord($input: OperationRecordInput!) {
  operationRecord(input: $input) {
    __typename
    ... on Operation { id person { id stage } member { person { id stage } } }
    ... on OperationError { code field }
  }
}
"""


@pytest.mark.parametrize(
    ("mode", "delete_suspect", "deleted"),
    [
        (SuspectConversion.DELETE, None, True),
        (SuspectConversion.KEEP, None, False),
        (SuspectConversion.ASK, True, True),
        (SuspectConversion.ASK, False, False),
    ],
)
async def test_an_operation_converts_its_suspect_in_the_same_transaction(
    factory: Factory, outbound: Outbound, clock: Clock, mode: SuspectConversion, delete_suspect: bool | None,
    deleted: bool,
) -> None:
    # given
    settings = replace(factory.settings, suspect_conversion=mode)
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    sale = await outbound.result(ResultKind.SUCCESS)
    suspect = await factory.person(name="Rita")
    member = await outbound.claimed(campaign, agent, person=suspect)
    # when
    data = await factory.execute(
        RECORD,
        {"input": {"memberId": str(member.pk), "resultId": str(sale.pk), "convertSuspect": True,
                   "deleteSuspect": delete_suspect}},
        user=agent, settings=settings,
    )
    # then: the operation and the membership are the prospect's
    result = data["operationRecord"]
    assert result["__typename"] == "Operation"
    prospect = await Person.get(stage=PersonStage.PROSPECT)
    assert result["person"] == {"id": str(prospect.pk), "stage": "PROSPECT"}
    assert result["member"]["person"] == {"id": str(prospect.pk), "stage": "PROSPECT"}
    assert (await Operation.get(id=int(result["id"]))).person_id == prospect.pk
    assert (await CampaignMember.get(id=member.pk)).person_id == prospect.pk
    kept = await Person.get_or_none(id=suspect.pk)
    assert (kept is None) == deleted
    if kept is not None:
        assert kept.converted_to_id == prospect.pk
    # and the conversion is recorded for both persons' timelines, with the agent who made it
    recorded = await PersonConversion.get(prospect_id=prospect.pk)
    assert (recorded.suspect_id, recorded.actor_id, recorded.suspect_deleted) == (suspect.pk, agent.pk, deleted)


async def test_a_refused_conversion_writes_nothing(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    sale = await outbound.result(ResultKind.SUCCESS)
    suspect_member = await outbound.claimed(campaign, agent, person=await factory.person(name="Rita"))
    prospect_member = await outbound.claimed(
        campaign, agent, person=await factory.person(name="Ivo", stage=PersonStage.PROSPECT)
    )
    cases = [
        # ASK (the default) without deleteSuspect
        (suspect_member, {"convertSuspect": True}, "DELETE_SUSPECT_REQUIRED", "deleteSuspect"),
        (suspect_member, {"deleteSuspect": True}, "INVALID", "deleteSuspect"),
        # the person is no suspect: found inside the transaction, after the operation was written
        (prospect_member, {"convertSuspect": True, "deleteSuspect": True}, "NOT_A_SUSPECT", "convertSuspect"),
    ]
    for member, extra, code, field in cases:
        # when
        data = await factory.execute(
            RECORD, {"input": {"memberId": str(member.pk), "resultId": str(sale.pk), **extra}}, user=agent
        )
        # then
        assert data["operationRecord"] == {"__typename": "OperationError", "code": code, "field": field}, extra
    assert await Operation.all().count() == 0
    assert await Event.all().count() == 0
    assert await Person.filter(stage=PersonStage.PROSPECT).count() == 1
    assert await PersonConversion.all().count() == 0
    assert (await CampaignMember.get(id=prospect_member.pk)).attempts == 0
