from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ContactChannel',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'contact_channel', 'app': 'models', 'pk_attr': 'id', 'table_description': 'How a contact happens ("Forma de contato"): phone, e-mail, portal, WhatsApp, a shared catalog.'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Event',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('cursor', fields.BigIntField(unique=True)),
                ('kind', fields.CharField(max_length=50)),
                ('entity', fields.CharField(max_length=30)),
                ('entity_id', fields.IntField()),
                ('company_id', fields.IntField(null=True)),
                ('campaign_id', fields.IntField(null=True)),
                ('agent_id', fields.IntField(null=True)),
                ('data', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'event', 'app': 'models', 'indexes': [Index(fields=['entity', 'entity_id', 'cursor'])], 'pk_attr': 'id', 'table_description': 'A change worth telling live clients about, kept for replay by cursor (thin: kind and ids).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EventCounter',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('value', fields.BigIntField(default=0)),
            ],
            options={'table': 'event_counter', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One row. Bumping it inside the writing transaction orders cursors by commit.'},
            bases=['Model'],
        ),
    ]
