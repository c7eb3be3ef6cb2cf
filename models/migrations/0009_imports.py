from tortoise import migrations
from tortoise.migrations import operations as ops
from models.data_import import ImportKind, ImportMode, ImportStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_member_removed_status')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Import',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('kind', fields.CharEnumField(description='PERSONS: PERSONS\nMEMBERS: MEMBERS\nDO_NOT_CALL: DO_NOT_CALL', enum_type=ImportKind, max_length=12)),
                ('mode', fields.CharEnumField(description='INSERT: INSERT\nUPSERT: UPSERT\nDRY_RUN: DRY_RUN', enum_type=ImportMode, max_length=10)),
                ('status', fields.CharEnumField(default=ImportStatus.PENDING, description='PENDING: PENDING\nRUNNING: RUNNING\nDONE: DONE\nFAILED: FAILED\nCANCELLED: CANCELLED', enum_type=ImportStatus, max_length=10)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='imports', on_delete=OnDelete.CASCADE)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='imports', on_delete=OnDelete.SET_NULL)),
                ('file_name', fields.CharField(max_length=255)),
                ('file_path', fields.CharField(default='', max_length=1024)),
                ('file_size', fields.BigIntField(default=0)),
                ('owns_file', fields.BooleanField(default=True)),
                ('mapping', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('processed_rows', fields.IntField(default=0)),
                ('inserted', fields.IntField(default=0)),
                ('updated', fields.IntField(default=0)),
                ('error_rows', fields.IntField(default=0)),
                ('bytes_read', fields.BigIntField(default=0)),
                ('cancel_requested', fields.BooleanField(default=False)),
                ('message', fields.TextField(default='', unique=False)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'data_import', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One file being loaded: what, how, and how far it got (good rows commit batch by batch).'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='ImportRowError',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('data_import', fields.ForeignKeyField('models.Import', source_field='data_import_id', db_constraint=True, to_field='id', related_name='row_errors', on_delete=OnDelete.CASCADE)),
                ('row', fields.IntField()),
                ('column', fields.CharField(default='', max_length=200)),
                ('code', fields.CharField(max_length=50)),
                ('message', fields.TextField(unique=False)),
            ],
            options={'table': 'import_row_error', 'app': 'models', 'indexes': [Index(fields=['data_import_id', 'id'])], 'pk_attr': 'id', 'table_description': 'A refused row: its number in the file (the header is row 1), the column at fault, why.'},
            bases=['TimestampedModel'],
        ),
    ]
