from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

from models.search import create_message_search


async def message_search(apps, schema_editor):
    """The full-text index of message bodies (models/search.py), for the engine migrated."""
    await create_message_search(schema_editor.client)

class Migration(migrations.Migration):
    dependencies = [('models', '0012_history')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Callback',
            index=Index(fields=['due_at', 'id']),
        ),
        ops.RunPython(message_search, reverse_code=ops.RunPython.noop),
    ]
