from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_outbound_and_tickets')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Callback',
            name='opened_alerted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Callback',
            name='opens_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Callback',
            index=Index(fields=['status', 'alerted_at', 'due_at']),
        ),
        ops.AddIndex(
            model_name='Callback',
            index=Index(fields=['status', 'opened_alerted_at', 'opens_at']),
        ),
        ops.AddIndex(
            model_name='Ticket',
            index=Index(fields=['state', 'return_alerted_at', 'return_due_at']),
        ),
    ]
