from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

def _last(column, public):
    where = "m.ticket_id = ticket.id" + (" AND NOT m.internal" if public else "")
    return f"(SELECT m.{column} FROM ticket_message m WHERE {where} ORDER BY m.id DESC LIMIT 1)"


def _count(public):
    where = "m.ticket_id = ticket.id" + (" AND NOT m.internal" if public else "")
    return f"(SELECT count(*) FROM ticket_message m WHERE {where})"


BACKFILL = (
    "UPDATE ticket SET "
    f"message_count = {_count(False)}, last_message_id = {_last('id', False)}, "
    f"last_message_at = {_last('created_at', False)}, public_message_count = {_count(True)}, "
    f"public_last_message_id = {_last('id', True)}, public_last_message_at = {_last('created_at', True)}"
)


class Migration(migrations.Migration):
    dependencies = [('models', '0010_exports')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Person',
            index=Index(fields=['name', 'id']),
        ),
        ops.AddIndex(
            model_name='Person',
            index=Index(fields=['company_id', 'name', 'id']),
        ),
        ops.AddIndex(
            model_name='Person',
            index=Index(fields=['created_at', 'id']),
        ),
        ops.AddField(
            model_name='Ticket',
            name='last_message_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Ticket',
            name='last_message_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Ticket',
            name='message_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Ticket',
            name='public_last_message_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Ticket',
            name='public_last_message_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Ticket',
            name='public_message_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        # The summary of the threads already there (the same SQL as resolvers/ticket/summary.py).
        ops.RunSQL(BACKFILL, reverse_sql=ops.RunSQL.noop),
        ops.AddIndex(
            model_name='Ticket',
            index=Index(fields=['last_message_at', 'id']),
        ),
        ops.AddIndex(
            model_name='Ticket',
            index=Index(fields=['company_id', 'public_last_message_at', 'id']),
        ),
        ops.AddIndex(
            model_name='Ticket',
            index=Index(fields=['created_at', 'id']),
        ),
        ops.AddIndex(
            model_name='Ticket',
            index=Index(fields=['updated_at', 'id']),
        ),
    ]
