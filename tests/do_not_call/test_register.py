from datetime import timedelta

from models.campaign import CampaignMember
from models.do_not_call import DoNotCallNumber
from models.event import Event
from models.operation import Operation
from models.outbound import ResultKind
from models.user import Role
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

ADD = """
mutation Add($input: DoNotCallAddInput!) {
  doNotCallAdd(input: $input) {
    __typename
    ... on DoNotCallNumber { id number source reason addedAt expiresAt }
    ... on DoNotCallError { code field message }
  }
}
"""
REMOVE = """
mutation Remove($id: ID!) {
  doNotCallRemove(id: $id) {
    __typename ... on DoNotCallNumber { number } ... on DoNotCallError { code field }
  }
}
"""
LIST = """
query List($filter: DoNotCallFilter) {
  doNotCallNumbers(filter: $filter) {
    __typename
    ... on DoNotCallNumbersPayload { numbers { edges { node { number source } } } }
    ... on DoNotCallError { code }
  }
}
"""
QUEUE = """
query Queue($campaignId: ID!, $status: QueueStatus, $first: Int) {
  campaignQueue(campaignId: $campaignId, status: $status, first: $first) { ... on CampaignMemberConnection {
    edges { node { id person { name } } }
  } }
}
"""
CLAIM = """
mutation Claim($campaignId: ID!) {
  campaignMemberClaim(campaignId: $campaignId) {
    __typename ... on CampaignMember { person { name } } ... on CampaignError { code }
  }
}
"""
RECORD = """
mutation Record($input: OperationRecordInput!) {
  operationRecord(input: $input) { __typename ... on Operation { id } ... on OperationError { code field } }
}
"""
MEMBERS_ADD = """
mutation Add($campaignId: ID!, $personIds: [ID!]) {
  campaignMembersAdd(campaignId: $campaignId, personIds: $personIds) {
    __typename
    ... on MembersAddPayload { added skippedExisting skippedDoNotCall skippedDoNotCallRegister skippedUnknown }
    ... on CampaignError { code }
  }
}
"""
PERSON = """
query Person($id: ID!) { person(id: $id) { phones callablePhones doNotCall } }
"""


def queue_names(data: dict) -> list[str]:
    return [edge["node"]["person"]["name"] for edge in data["campaignQueue"]["edges"]]


async def listed(number: str, clock: Clock, **fields: object) -> DoNotCallNumber:
    values: dict[str, object] = {"number": number, "source": "PROCON-SP", "added_at": clock.now}
    values.update(fields)
    return await DoNotCallNumber.create(**values)


async def test_supervisors_add_numbers_normalised_and_refused_when_bad(factory: Factory, clock: Clock) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT)
    rep = await factory.user(Role.COMPANY_REP)
    entry = {"number": "+55 (11) 98765-4321", "source": "PROCON-SP", "reason": "Não me ligue",
             "expiresAt": (clock.now + timedelta(days=365)).isoformat()}
    # when
    added = (await factory.execute(ADD, {"input": entry}, user=supervisor))["doNotCallAdd"]
    # then
    assert added["__typename"] == "DoNotCallNumber"
    assert (added["number"], added["source"], added["reason"]) == ("11987654321", "PROCON-SP", "Não me ligue")
    assert added["addedAt"] is not None and added["expiresAt"] is not None
    refusals = {
        "same number, other spelling": ({"number": "(11) 98765-4321", "source": "x"}, supervisor),
        "not a phone": ({"number": "12ab", "source": "x"}, supervisor),
        "no source": ({"number": "1133334444", "source": "  "}, supervisor),
        "expired already": ({"number": "1133334444", "source": "x",
                             "expiresAt": (clock.now - timedelta(minutes=1)).isoformat()}, supervisor),
        "agent": ({"number": "1133334444", "source": "x"}, agent),
        "rep": ({"number": "1133334444", "source": "x"}, rep),
    }
    answers = {
        label: (await factory.execute(ADD, {"input": data}, user=user))["doNotCallAdd"]
        for label, (data, user) in refusals.items()
    }
    assert {label: (a["__typename"], a["code"], a["field"]) for label, a in answers.items()} == {
        "same number, other spelling": ("DoNotCallError", "ALREADY_LISTED", "number"),
        "not a phone": ("DoNotCallError", "INVALID_PHONE", "number"),
        "no source": ("DoNotCallError", "INVALID", "source"),
        "expired already": ("DoNotCallError", "EXPIRY_IN_PAST", "expiresAt"),
        "agent": ("DoNotCallError", "FORBIDDEN", None),
        "rep": ("DoNotCallError", "FORBIDDEN", None),
    }
    assert await DoNotCallNumber.all().count() == 1


async def test_the_register_is_listed_by_any_spelling_and_entries_are_removed(
    factory: Factory, clock: Clock
) -> None:
    # given
    admin = await factory.user(Role.ADMIN)
    agent = await factory.user(Role.AGENT)
    kept = await listed("11987654321", clock)
    await listed("2133334444", clock, source="cliente", expires_at=clock.now - timedelta(days=1))
    # when
    by_number = await factory.execute(LIST, {"filter": {"number": "+55 11 98765 4321"}}, user=admin)
    current = await factory.execute(LIST, {}, user=admin)
    everything = await factory.execute(LIST, {"filter": {"includeExpired": True}}, user=admin)
    refused = await factory.execute(LIST, {}, user=agent)
    # then
    def numbers(data: dict) -> list[str]:
        return [edge["node"]["number"] for edge in data["doNotCallNumbers"]["numbers"]["edges"]]

    assert numbers(by_number) == ["11987654321"]
    assert numbers(current) == ["11987654321"]
    assert numbers(everything) == ["11987654321", "2133334444"]
    assert refused["doNotCallNumbers"] == {"__typename": "DoNotCallError", "code": "FORBIDDEN"}
    removed = await factory.execute(REMOVE, {"id": str(kept.pk)}, user=admin)
    assert removed["doNotCallRemove"] == {"__typename": "DoNotCallNumber", "number": "11987654321"}
    again = await factory.execute(REMOVE, {"id": str(kept.pk)}, user=admin)
    assert again["doNotCallRemove"] == {"__typename": "DoNotCallError", "code": "NOT_FOUND", "field": "id"}
    assert await factory.execute(REMOVE, {"id": "1"}, user=agent) == {
        "doNotCallRemove": {"__typename": "DoNotCallError", "code": "FORBIDDEN", "field": None}
    }


async def test_the_queue_and_the_claim_skip_a_person_by_any_of_their_phones(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: the second phone, stored with the country code, is listed without it
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    await outbound.ready(agent)
    blocked = await factory.person(name="blocked", phones=["1133334444", "+5511987654321"])
    expired = await factory.person(name="expired", phones=["21999998888"])
    free = await factory.person(name="free", phones=["31988887777"])
    for person in (blocked, expired, free):
        await outbound.member(campaign, person)
    entry = await listed("11987654321", clock)
    await listed("21999998888", clock, expires_at=clock.now + timedelta(minutes=30))
    variables = {"campaignId": str(campaign.pk)}
    # when / then
    assert queue_names(await factory.execute(QUEUE, variables, user=agent)) == ["free"]
    # the whole list of a status still shows every member (the supervisor's view of the campaign)
    everyone = await factory.execute(QUEUE, {**variables, "status": "NOT_ACTED"}, user=agent)
    assert queue_names(everyone) == ["blocked", "expired", "free"]
    clock.advance(minutes=31)
    assert queue_names(await factory.execute(QUEUE, variables, user=agent)) == ["expired", "free"]
    first = await factory.execute(CLAIM, variables, user=agent)
    assert first["campaignMemberClaim"] == {"__typename": "CampaignMember", "person": {"name": "expired"}}
    await CampaignMember.filter(campaign_id=campaign.pk).exclude(person_id=blocked.pk).update(
        claimed_by_id=agent.pk, claim_expires_at=clock.now - timedelta(minutes=1), status="CONCLUDED"
    )
    empty = await factory.execute(CLAIM, variables, user=agent)
    assert empty["campaignMemberClaim"] == {"__typename": "CampaignError", "code": "QUEUE_EMPTY"}
    await entry.delete()
    after_removal = await factory.execute(CLAIM, variables, user=agent)
    assert after_removal["campaignMemberClaim"] == {"__typename": "CampaignMember", "person": {"name": "blocked"}}


async def test_operation_record_refuses_a_person_listed_after_the_claim(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    sale = await outbound.result(ResultKind.SUCCESS)
    person = await factory.person(phones=["(11) 3333-4444", "11 98765-4321"])
    member = await outbound.claimed(campaign, agent, person=person)
    await listed("11987654321", clock)
    # when
    data = await factory.execute(
        RECORD, {"input": {"memberId": str(member.pk), "resultId": str(sale.pk)}}, user=agent
    )
    # then
    assert data["operationRecord"] == {
        "__typename": "OperationError", "code": "PHONE_ON_DO_NOT_CALL_REGISTER", "field": "memberId"
    }
    assert await Operation.all().count() == 0
    assert await Event.all().count() == 0
    assert (await CampaignMember.get(id=member.pk)).attempts == 0


async def test_members_add_skips_persons_on_the_register_and_counts_them(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign()
    listed_person = await factory.person(name="listed", phones=["+55 21 3333-4444"])
    lapsed = await factory.person(name="lapsed", phones=["2199998888"])
    fresh = await factory.person(name="fresh", phones=["3133334444"])
    await listed("2133334444", clock)
    await listed("2199998888", clock, expires_at=clock.now - timedelta(seconds=1))
    ids = [str(person.pk) for person in (listed_person, lapsed, fresh)]
    # when
    data = await factory.execute(MEMBERS_ADD, {"campaignId": str(campaign.pk), "personIds": ids}, user=supervisor)
    # then
    assert data["campaignMembersAdd"] == {
        "__typename": "MembersAddPayload", "added": 2, "skippedExisting": 0, "skippedDoNotCall": 0,
        "skippedDoNotCallRegister": 1, "skippedUnknown": 0,
    }
    members = await CampaignMember.filter(campaign_id=campaign.pk).values_list("person_id", flat=True)
    assert sorted(members) == sorted([lapsed.pk, fresh.pk])


async def test_callable_phones_never_show_a_listed_number(factory: Factory, clock: Clock) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    person = await factory.person(phones=["+5511987654321", "1133334444"])
    opted_out = await factory.person(phones=["3133334444"])
    opted_out.do_not_call = True
    await opted_out.save()
    await listed("11987654321", clock)
    # when
    shown = await factory.execute(PERSON, {"id": str(person.pk)}, user=agent)
    refused = await factory.execute(PERSON, {"id": str(opted_out.pk)}, user=agent)
    # then
    assert shown["person"] == {
        "phones": ["+5511987654321", "1133334444"], "callablePhones": ["1133334444"], "doNotCall": False
    }
    assert refused["person"] == {"phones": ["3133334444"], "callablePhones": [], "doNotCall": True}


async def test_the_register_check_adds_no_statement_to_a_queue_page(
    factory: Factory, outbound: Outbound, clock: Clock, sql_statements: StatementCounter
) -> None:
    # given: 60 members with two phones each, every third one listed
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    for index in range(60):
        phones = [f"11{index:08d}", f"21{index:08d}"]
        await outbound.member(campaign, await factory.person(name=f"P{index}", phones=phones))
        if index % 3 == 0:
            await listed(phones[1], clock)
    counts = {}
    for size in (5, 30):
        sql_statements.statements.clear()
        # when
        data = await factory.execute(QUEUE, {"campaignId": str(campaign.pk), "first": size}, user=agent)
        # then
        names = queue_names(data)
        assert len(names) == size and all(int(name[1:]) % 3 for name in names)
        counts[size] = len(sql_statements.statements)
    # campaign, assignment, page, persons
    assert counts == {5: 4, 30: 4}, sql_statements.statements
