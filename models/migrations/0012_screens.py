from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_ticket_thread_summary')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Callback',
            index=Index(fields=['due_at', 'id']),
        ),
    ]
