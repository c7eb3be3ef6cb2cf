from dataclasses import replace
from datetime import datetime, timedelta

from contato.settings import TicketScheme
from models.catalog import ContactChannel
from models.event import Event
from models.ticket import Attachment, Ticket, TicketMessage
from models.user import Role
from resolvers.attachment import ContentCheck, blob_path
from tests.factories import Factory
from tests.ticket_factories import TicketFactory, upload

TICKET_OPEN = """
mutation TicketOpen($input: TicketOpenInput!) {
  ticketOpen(input: $input) {
    __typename
    ... on Ticket {
      id number subject state contactPhone returnDueAt
      company { id } status { name } openedBy { id }
      classification { name } subclassification { name } contactType { name } contactSubtype { name }
      messages { edges { node { body internal attachments { fileName contentType size downloadUrl } } } }
    }
    ... on TicketError { code field message }
  }
}
"""

MESSAGE_ADD = """
mutation MessageAdd($input: TicketMessageAddInput!) {
  ticketMessageAdd(input: $input) { __typename ... on TicketError { code field } }
}
"""

TICKETS = """
query Tickets($text: String) { tickets(filter: { text: $text }) { edges { node { id } } } }
"""


def open_input(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "subject": "Fatura em duplicidade",
        "body": "Recebemos duas faturas de março.",
        "contactName": "Rita",
        "contactPhone": "+55 (11) 99999-0000",
        "contactEmail": "rita@acme.test",
    }
    values.update(overrides)
    return values


async def test_rep_opens_a_ticket_for_their_company_with_a_file(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    rep = await factory.user(Role.COMPANY_REP)
    status = await tickets.status("Novo", initial=True, return_after_days=2)
    root = await tickets.classification("Financeiro")
    sub = await tickets.classification("Cobrança", parent=root)
    files = [upload("../../etc/fatura março.pdf", b"%PDF-1.4 fatura")]
    # when
    data = await factory.execute(
        TICKET_OPEN,
        {
            "input": open_input(
                classificationId=str(root.pk), subclassificationId=str(sub.pk), files=files
            )
        },
        user=rep,
    )
    # then
    ticket = data["ticketOpen"]
    assert ticket["__typename"] == "Ticket"
    assert ticket["number"] == f"{datetime.now(factory.settings.zone).year}-000001"
    assert ticket["company"] == {"id": str(rep.company_id)}
    assert ticket["status"] == {"name": "Novo"}
    assert ticket["contactPhone"] == "+5511999990000"
    assert ticket["subclassification"] == {"name": "Cobrança"}
    assert ticket["returnDueAt"] is not None
    message = ticket["messages"]["edges"][0]["node"]
    assert message["body"] == "Recebemos duas faturas de março." and message["internal"] is False
    [attachment] = message["attachments"]
    assert attachment["fileName"] == "fatura março.pdf"
    assert attachment["contentType"] == "application/pdf"
    assert attachment["size"] == len(b"%PDF-1.4 fatura")
    stored = await Attachment.get()
    assert blob_path(factory.settings, stored.sha256).read_bytes() == b"%PDF-1.4 fatura"
    assert list((factory.settings.upload_dir / "tmp").iterdir()) == []
    event = await Event.get(kind="TICKET_OPENED")
    assert (event.entity, event.entity_id, event.company_id) == (
        "ticket",
        int(ticket["id"]),
        rep.company_id,
    )
    assert (await Ticket.get()).status_id == status.pk


async def test_numbers_follow_a_yearly_sequence(factory: Factory, tickets: TicketFactory) -> None:
    agent = await factory.user(Role.AGENT)
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    numbers = []
    for _ in range(3):
        data = await factory.execute(
            TICKET_OPEN, {"input": open_input(classificationId=str(root.pk))}, user=agent
        )
        numbers.append(data["ticketOpen"]["number"])
    year = datetime.now(factory.settings.zone).year
    assert numbers == [f"{year}-000001", f"{year}-000002", f"{year}-000003"]


async def test_classification_rules(factory: Factory, tickets: TicketFactory) -> None:
    agent = await factory.user(Role.AGENT)
    await tickets.status("Novo", initial=True)
    root = await tickets.classification("Financeiro")
    other = await tickets.classification("Técnico")
    foreign_sub = await tickets.classification("Sem sinal", parent=other)
    contact_type = await tickets.contact_type()
    cases = [
        ({}, "CLASSIFICATION_REQUIRED", "classificationId"),
        ({"classificationId": "999"}, "UNKNOWN_CLASSIFICATION", "classificationId"),
        ({"classificationId": str(foreign_sub.pk)}, "UNKNOWN_CLASSIFICATION", "classificationId"),
        (
            {"classificationId": str(root.pk), "subclassificationId": str(foreign_sub.pk)},
            "SUBCLASSIFICATION_MISMATCH",
            "subclassificationId",
        ),
        (
            {"classificationId": str(root.pk), "contactTypeId": str(contact_type.pk)},
            "WRONG_SCHEME",
            "contactTypeId",
        ),
        (
            {"classificationId": str(root.pk), "contactEmail": "nope"},
            "INVALID_EMAIL",
            "contactEmail",
        ),
        ({"classificationId": str(root.pk), "contactPhone": "12"}, "INVALID_PHONE", "contactPhone"),
        ({"classificationId": str(root.pk), "subject": " "}, "INVALID", "subject"),
        ({"classificationId": str(root.pk), "companyId": "999"}, "UNKNOWN_COMPANY", "companyId"),
        ({"classificationId": str(root.pk), "channelId": "999"}, "UNKNOWN_CHANNEL", "channelId"),
    ]
    for overrides, code, field in cases:
        data = await factory.execute(TICKET_OPEN, {"input": open_input(**overrides)}, user=agent)
        result = data["ticketOpen"]
        assert (result["__typename"], result["code"], result["field"]) == (
            "TicketError",
            code,
            field,
        ), overrides
    assert await Ticket.all().count() == 0
    assert await TicketMessage.all().count() == 0
    assert await Event.all().count() == 0


async def test_contact_type_scheme_rules(factory: Factory, tickets: TicketFactory) -> None:
    # given: the CRM scheme, and "today" in the operation's zone
    settings = replace(factory.settings, ticket_scheme=TicketScheme.CONTACT_TYPE)
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    triage = await tickets.status("Triagem", initial=True)
    today = datetime.now(settings.zone).date()
    complaint = await tickets.contact_type("Reclamação", statuses=[triage])
    subtype = await tickets.subtype(complaint, "Cobrança")
    other = await tickets.contact_type("Elogio")
    foreign = await tickets.subtype(other, "Atendimento")
    inactive = await tickets.contact_type("Antigo", active=False)
    expired = await tickets.contact_type("Campanha 2020", valid_to=today - timedelta(days=1))
    future = await tickets.contact_type("Campanha futura", valid_from=today + timedelta(days=1))
    root = await tickets.classification()
    cases = [
        ({}, "CONTACT_TYPE_REQUIRED", "contactTypeId"),
        (
            {"contactTypeId": str(complaint.pk), "classificationId": str(root.pk)},
            "WRONG_SCHEME",
            "classificationId",
        ),
        ({"contactTypeId": "999"}, "UNKNOWN_CONTACT_TYPE", "contactTypeId"),
        ({"contactTypeId": str(inactive.pk)}, "CONTACT_TYPE_INACTIVE", "contactTypeId"),
        ({"contactTypeId": str(expired.pk)}, "CONTACT_TYPE_NOT_VALID", "contactTypeId"),
        ({"contactTypeId": str(future.pk)}, "CONTACT_TYPE_NOT_VALID", "contactTypeId"),
        (
            {"contactTypeId": str(complaint.pk), "contactSubtypeId": str(foreign.pk)},
            "SUBTYPE_MISMATCH",
            "contactSubtypeId",
        ),
    ]
    for overrides, code, field in cases:
        result = await factory.execute_raw(
            TICKET_OPEN, {"input": open_input(**overrides)}, user=agent, settings=settings
        )
        assert result.errors is None
        error = result.data["ticketOpen"]
        assert (error["code"], error["field"]) == (code, field), overrides
    assert await Ticket.all().count() == 0
    # when: a valid type and subtype (validity bounds are inclusive)
    await tickets.contact_type("Hoje", valid_from=today, valid_to=today)
    result = await factory.execute_raw(
        TICKET_OPEN,
        {
            "input": open_input(
                contactTypeId=str(complaint.pk),
                contactSubtypeId=str(subtype.pk),
                channelId=str((await ContactChannel.create(name="Telefone")).pk),
            )
        },
        user=agent,
        settings=settings,
    )
    # then: the initial status is the one the contact type allows
    ticket = result.data["ticketOpen"]
    assert ticket["contactType"] == {"name": "Reclamação"} and ticket["contactSubtype"] == {
        "name": "Cobrança"
    }
    assert ticket["status"] == {"name": "Triagem"}
    assert new.pk != (await Ticket.get()).status_id


async def test_no_initial_status_is_a_typed_error(factory: Factory, tickets: TicketFactory) -> None:
    agent = await factory.user(Role.AGENT)
    root = await tickets.classification()
    data = await factory.execute(
        TICKET_OPEN, {"input": open_input(classificationId=str(root.pk))}, user=agent
    )
    assert data["ticketOpen"]["code"] == "NO_INITIAL_STATUS"


async def test_rep_cannot_open_for_another_company(
    factory: Factory, tickets: TicketFactory
) -> None:
    rep = await factory.user(Role.COMPANY_REP)
    stranger = await factory.company()
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    data = await factory.execute(
        TICKET_OPEN,
        {"input": open_input(classificationId=str(root.pk), companyId=str(stranger.pk))},
        user=rep,
    )
    assert (data["ticketOpen"]["code"], data["ticketOpen"]["field"]) == ("FORBIDDEN", "companyId")
    assert await Ticket.all().count() == 0


async def test_refused_files_write_nothing(factory: Factory, tickets: TicketFactory) -> None:
    rep = await factory.user(Role.COMPANY_REP)
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    too_large = [
        upload("ok.pdf"),
        upload("big.pdf", b"x" * (factory.settings.upload_max_bytes + 1)),
    ]
    refused = [upload("run.exe", b"MZ", "application/x-msdownload")]
    too_many = [upload(f"f{index}.pdf") for index in range(11)]
    for files, code in (
        (too_large, "FILE_TOO_LARGE"),
        (refused, "FILE_TYPE_REFUSED"),
        (too_many, "TOO_MANY_FILES"),
    ):
        data = await factory.execute(
            TICKET_OPEN, {"input": open_input(classificationId=str(root.pk), files=files)}, user=rep
        )
        assert (data["ticketOpen"]["code"], data["ticketOpen"]["field"]) == (code, "files")
    assert await Ticket.all().count() == 0
    assert await Attachment.all().count() == 0
    upload_dir = factory.settings.upload_dir
    assert not upload_dir.exists() or [p for p in upload_dir.rglob("*") if p.is_file()] == []


async def test_text_with_a_nul_character_is_refused(
    factory: Factory, tickets: TicketFactory
) -> None:
    """PostgreSQL text cannot hold NUL: the request is refused (BAD_USER_INPUT), nothing written."""
    # given
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    ticket = await tickets.ticket(agent, new)
    for field in ("subject", "body", "contactName", "product", "occurrence", "contactEmail"):
        value = "rita\x00@acme.test" if field == "contactEmail" else "a\x00b"
        # when
        result = await factory.execute_raw(
            TICKET_OPEN,
            {"input": open_input(classificationId=str(root.pk), **{field: value})},
            user=agent,
        )
        # then
        assert result.data is None and result.errors[0].extensions == {"code": "BAD_USER_INPUT"}, field
    message = await factory.execute_raw(
        MESSAGE_ADD, {"input": {"ticketId": str(ticket.pk), "body": "a\x00b"}}, user=agent
    )
    assert message.data is None and message.errors[0].extensions == {"code": "BAD_USER_INPUT"}
    assert await Ticket.all().count() == 1 and await TicketMessage.all().count() == 0


async def test_the_person_must_belong_to_the_tickets_company(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    acme = await factory.company()
    globex = await factory.company()
    of_globex = await factory.person("Pedro", company=globex)
    of_nobody = await factory.person("Ana")
    base = {"classificationId": str(root.pk), "companyId": str(acme.pk)}
    # when
    data = await factory.execute(
        TICKET_OPEN, {"input": open_input(**base, personId=str(of_globex.pk))}, user=agent
    )
    # then
    assert (data["ticketOpen"]["code"], data["ticketOpen"]["field"]) == (
        "PERSON_NOT_IN_COMPANY",
        "personId",
    )
    assert await Ticket.all().count() == 0
    # a person without a company, or the company taken from the person, is fine
    for overrides in (
        {**base, "personId": str(of_nobody.pk)},
        {"classificationId": str(root.pk), "personId": str(of_globex.pk)},
    ):
        data = await factory.execute(TICKET_OPEN, {"input": open_input(**overrides)}, user=agent)
        assert data["ticketOpen"]["__typename"] == "Ticket", overrides
    assert [row.company_id for row in await Ticket.all().order_by("id")] == [acme.pk, globex.pk]


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8
GOOD_FILES = [
    ("a.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
    ("a.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    ("a.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    ("a.gif", b"GIF89a\x01\x00\x01\x00", "image/gif"),
    ("a.webp", b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    ("a.zip", b"PK\x03\x04\x14\x00\x00\x00", "application/zip"),
    ("a.docx", b"PK\x03\x04\x14\x00\x06\x00", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("a.ods", b"PK\x03\x04\x14\x00\x00\x08", "application/vnd.oasis.opendocument.spreadsheet"),
    ("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "application/vnd.ms-excel"),
    ("a.txt", "Olá, tudo bem?\r\n".encode(), "text/plain"),
    ("a.csv", "\ufeffnome;valor\nJosé;1\n".encode(), "text/csv"),
    ("vazio.txt", b"", "text/plain"),
    ("excel.csv", "Nome;Cidade\nJoão;São Paulo\n".encode("cp1252"), "text/csv"),  # saved by Excel on Windows
    # no declared type: the name's type is the one checked
    ("b.pdf", b"%PDF-1.4 b", "application/octet-stream"),
]
FOREIGN_FILES = [
    ("contrato.pdf", ELF, "application/pdf"),
    ("foto.png", b"MZ\x90\x00\x03\x00\x00\x00", "image/png"),
    ("foto.jpg", b"%PDF-1.4 disguised", "image/jpeg"),
    ("planilha.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("vazio.pdf", b"", "application/pdf"),
    ("nota.txt", ELF, "text/plain"),
    ("nota.txt", b"abc\x00def", "text/plain"),
    ("lista.csv", b"nome;valor\n\x01\x02;1\n", "text/csv"),  # control bytes no text holds
    ("c.pdf", ELF, "application/octet-stream"),
]


async def test_files_are_stored_only_when_their_bytes_are_what_their_type_says(
    factory: Factory, tickets: TicketFactory
) -> None:
    # issue 11: ELF bytes labelled application/pdf were stored and served as a PDF
    rep = await factory.user(Role.COMPANY_REP)
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    for name, data, content_type in FOREIGN_FILES:
        result = await factory.execute(
            TICKET_OPEN,
            {"input": open_input(classificationId=str(root.pk), files=[upload("ok.pdf"), upload(name, data, content_type)])},
            user=rep,
        )
        assert (result["ticketOpen"]["code"], result["ticketOpen"]["field"]) == ("FILE_CONTENT_REFUSED", "files"), name
        assert name in result["ticketOpen"]["message"]
    assert await Ticket.all().count() == 0 and await Attachment.all().count() == 0
    upload_dir = factory.settings.upload_dir
    assert not upload_dir.exists() or [p for p in upload_dir.rglob("*") if p.is_file()] == []
    accepted = await factory.execute(
        TICKET_OPEN,
        {"input": open_input(classificationId=str(root.pk), files=[upload(*file) for file in GOOD_FILES[:10]])},
        user=rep,
    )
    assert accepted["ticketOpen"]["__typename"] == "Ticket", accepted
    accepted = await factory.execute(
        TICKET_OPEN,
        {"input": open_input(classificationId=str(root.pk), files=[upload(*file) for file in GOOD_FILES[10:]])},
        user=rep,
    )
    assert accepted["ticketOpen"]["__typename"] == "Ticket", accepted
    assert await Attachment.all().count() == len(GOOD_FILES)


async def test_a_type_the_operator_adds_is_taken_on_its_declared_type(factory: Factory, tickets: TicketFactory) -> None:
    settings = replace(factory.settings, upload_allowed_types=(*factory.settings.upload_allowed_types, "audio/mpeg"))
    rep = await factory.user(Role.COMPANY_REP)
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    data = await factory.execute(
        TICKET_OPEN,
        {"input": open_input(classificationId=str(root.pk), files=[upload("a.mp3", b"ID3\x04\x00", "audio/mpeg")])},
        user=rep, settings=settings,
    )
    assert data["ticketOpen"]["__typename"] == "Ticket", data


def test_text_is_checked_across_chunk_boundaries() -> None:
    check = ContentCheck("text/csv")
    for chunk in ("José;".encode()[:4], "José;".encode()[4:], b"1\n"):  # "é" split in two chunks
        check.feed(chunk)
    assert check.passed()
    # a CSV saved by Excel in Windows-1252 is text too
    latin = ContentCheck("text/csv")
    latin.feed("Nome;Cidade\nJoão;São Paulo\n".encode("cp1252"))
    assert latin.passed()
    # but not bytes no text holds, nor an executable's head
    for refused in (b"abc\x00def", b"abc\x01def", b"\x7fELF\x02\x01\x01", b"MZ\x90\x00"):
        check = ContentCheck("text/plain")
        check.feed(refused)
        assert not check.passed(), refused


async def test_central_form_requires_the_subclassification_when_the_classification_has_some(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given: "Financeiro" has sub-classifications, "Outros" has none (there is nothing to choose)
    agent = await factory.user(Role.AGENT)
    await tickets.status("Novo", initial=True)
    finance = await tickets.classification("Financeiro")
    billing = await tickets.classification("Cobrança", parent=finance)
    other = await tickets.classification("Outros")
    # when: no sub-classification under "Financeiro"
    data = await factory.execute(
        TICKET_OPEN, {"input": open_input(classificationId=str(finance.pk))}, user=agent
    )
    # then
    error = data["ticketOpen"]
    assert (error["__typename"], error["code"], error["field"]) == (
        "TicketError",
        "SUBCLASSIFICATION_REQUIRED",
        "subclassificationId",
    )
    assert await Ticket.all().count() == 0
    # a sub-classification, or a classification without any, opens the ticket
    for overrides in (
        {"classificationId": str(finance.pk), "subclassificationId": str(billing.pk)},
        {"classificationId": str(other.pk)},
    ):
        data = await factory.execute(TICKET_OPEN, {"input": open_input(**overrides)}, user=agent)
        assert data["ticketOpen"]["__typename"] == "Ticket", overrides


async def test_crm_form_requires_the_contact_channel(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given: the CRM scheme
    settings = replace(factory.settings, ticket_scheme=TicketScheme.CONTACT_TYPE)
    rep = await factory.user(Role.COMPANY_REP)
    await tickets.status("Novo", initial=True)
    complaint = await tickets.contact_type("Reclamação")
    channel = await ContactChannel.create(name="Portal")
    # when: no channel ("forma de contato")
    result = await factory.execute_raw(
        TICKET_OPEN, {"input": open_input(contactTypeId=str(complaint.pk))}, user=rep, settings=settings
    )
    # then
    error = result.data["ticketOpen"]
    assert (error["code"], error["field"]) == ("CHANNEL_REQUIRED", "channelId")
    assert await Ticket.all().count() == 0
    result = await factory.execute_raw(
        TICKET_OPEN,
        {"input": open_input(contactTypeId=str(complaint.pk), channelId=str(channel.pk))},
        user=rep,
        settings=settings,
    )
    assert result.data["ticketOpen"]["__typename"] == "Ticket"
    # the Central form keeps the channel optional
    root = await tickets.classification()
    data = await factory.execute(
        TICKET_OPEN, {"input": open_input(classificationId=str(root.pk))}, user=rep
    )
    assert data["ticketOpen"]["__typename"] == "Ticket"
