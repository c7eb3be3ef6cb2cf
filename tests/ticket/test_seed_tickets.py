from contato.seed import seed_demo
from contato.settings import Settings
from models.ticket import Attachment, Ticket, TicketMessage, TicketState
from resolvers.attachment import blob_path
from tests.ticket_factories import TicketFactory


async def test_demo_tickets_are_idempotent_and_cover_several_statuses(
    tickets: TicketFactory, settings: Settings
) -> None:
    await seed_demo(settings)
    await seed_demo(settings)
    rows = await Ticket.all().prefetch_related("status")
    assert len(rows) == 4
    assert len({row.status.name for row in rows}) == 4
    assert {row.state for row in rows} == {TicketState.OPEN, TicketState.CLOSED}
    assert await TicketMessage.filter(internal=True).count() == 1
    attachments = await Attachment.all()
    assert len(attachments) == 3
    assert all(blob_path(settings, row.sha256).is_file() for row in attachments)
