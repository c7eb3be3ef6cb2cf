from tortoise import migrations
from tortoise.migrations import operations as ops
from models.data_export import ExportKind
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_imports')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Export',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('kind', fields.CharEnumField(description='OPERATIONS: OPERATIONS\nTICKETS: TICKETS\nMEMBERS: MEMBERS\nAGENT_PRODUCTIVITY: AGENT_PRODUCTIVITY\nCAMPAIGN_RESULTS: CAMPAIGN_RESULTS\nTICKET_FIGURES: TICKET_FIGURES', enum_type=ExportKind, max_length=20)),
                ('filters', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', db_constraint=True, to_field='id', related_name='exports', on_delete=OnDelete.CASCADE)),
                ('rows', fields.IntField(null=True)),
            ],
            options={'table': 'data_export', 'app': 'models', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
    ]
