from tortoise import migrations
from tortoise.migrations import operations as ops
from models.person import PersonKind, PersonStage
from models.user import Role
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Company',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('name', fields.CharField(max_length=200)),
                ('cnpj', fields.CharField(unique=True, max_length=14)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'company', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A customer company whose reps open tickets ("Empresa").'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='LoginThrottle',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('key', fields.CharField(unique=True, max_length=254)),
                ('failures', fields.IntField(default=0)),
                ('window_started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_throttle', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Failed logins per account key (the normalised e-mail), shared by every server process.'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Person',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('kind', fields.CharEnumField(description='NATURAL: NATURAL\nLEGAL: LEGAL', enum_type=PersonKind, max_length=10)),
                ('name', fields.CharField(max_length=200)),
                ('document', fields.CharField(db_index=True, max_length=14)),
                ('document_key', fields.CharField(null=True, unique=True, max_length=14)),
                ('phones', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('emails', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('stage', fields.CharEnumField(db_index=True, description='SUSPECT: SUSPECT\nPROSPECT: PROSPECT\nCUSTOMER: CUSTOMER', enum_type=PersonStage, max_length=10)),
                ('company', fields.ForeignKeyField('models.Company', source_field='company_id', null=True, db_constraint=True, to_field='id', related_name='persons', on_delete=OnDelete.RESTRICT)),
                ('do_not_call', fields.BooleanField(default=False)),
                ('search_text', fields.TextField(unique=False)),
                ('converted_to', fields.ForeignKeyField('models.Person', source_field='converted_to_id', null=True, db_constraint=True, to_field='id', related_name='converted_from', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'person', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Someone the operation contacts ("Pessoa"): natural (CPF) or legal (CNPJ).'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('name', fields.CharField(max_length=200)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('password_hash', fields.CharField(max_length=255)),
                ('role', fields.CharEnumField(description='AGENT: AGENT\nSUPERVISOR: SUPERVISOR\nCOMPANY_REP: COMPANY_REP\nADMIN: ADMIN', enum_type=Role, max_length=20)),
                ('company', fields.ForeignKeyField('models.Company', source_field='company_id', null=True, db_constraint=True, to_field='id', related_name='users', on_delete=OnDelete.RESTRICT)),
                ('active', fields.BooleanField(default=True)),
                ('token_version', fields.IntField(default=0)),
            ],
            options={'table': 'app_user', 'app': 'models', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
    ]
