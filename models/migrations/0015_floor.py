from tortoise import migrations
from tortoise.migrations import operations as ops
from models.floor import AgentStateKind, StateChangeCause
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0014_outbound17')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AgentSocket',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sockets', on_delete=OnDelete.CASCADE)),
                ('worker', fields.CharField(max_length=64)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('alive_until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed', fields.BooleanField(default=False)),
            ],
            options={'table': 'agent_socket', 'app': 'models', 'indexes': [Index(fields=['worker', 'closed']), Index(fields=['user_id', 'alive_until'])], 'pk_attr': 'id', 'table_description': "One open WebSocket of an agent, kept alive by its process's heartbeat (alive_until), which"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PauseReason',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('active', fields.BooleanField(default=True)),
                ('max_minutes', fields.IntField(null=True)),
            ],
            options={'table': 'pause_reason', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Why an agent paused ("motivo de pausa"): lunch, training, technical problem… a catalog.'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='AgentState',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='agent_state', on_delete=OnDelete.CASCADE)),
                ('state', fields.CharEnumField(default=AgentStateKind.OFFLINE, description='OFFLINE: OFFLINE\nREADY: READY\nPAUSED: PAUSED\nON_CALL: ON_CALL\nWRAP_UP: WRAP_UP', enum_type=AgentStateKind, max_length=10)),
                ('since', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('pause_reason', fields.ForeignKeyField('models.PauseReason', source_field='pause_reason_id', null=True, db_constraint=True, to_field='id', related_name='agent_states', on_delete=OnDelete.RESTRICT)),
                ('campaign_id', fields.IntField(null=True)),
                ('wrap_up_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('pause_deadline', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('pause_alerted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'agent_state', 'app': 'models', 'indexes': [Index(fields=['state', 'wrap_up_until']), Index(fields=['state', 'pause_deadline'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AgentStateChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='state_changes', on_delete=OnDelete.CASCADE)),
                ('from_state', fields.CharEnumField(description='OFFLINE: OFFLINE\nREADY: READY\nPAUSED: PAUSED\nON_CALL: ON_CALL\nWRAP_UP: WRAP_UP', enum_type=AgentStateKind, max_length=10)),
                ('to_state', fields.CharEnumField(description='OFFLINE: OFFLINE\nREADY: READY\nPAUSED: PAUSED\nON_CALL: ON_CALL\nWRAP_UP: WRAP_UP', enum_type=AgentStateKind, max_length=10)),
                ('pause_reason', fields.ForeignKeyField('models.PauseReason', source_field='pause_reason_id', null=True, db_constraint=True, to_field='id', related_name='state_changes', on_delete=OnDelete.RESTRICT)),
                ('cause', fields.CharEnumField(description='MANUAL: MANUAL\nCLAIM: CLAIM\nRECORD: RECORD\nRELEASE: RELEASE\nWRAP_UP_ENDED: WRAP_UP_ENDED\nPRESENCE_LOST: PRESENCE_LOST', enum_type=StateChangeCause, max_length=15)),
                ('actor_id', fields.IntField(null=True)),
                ('campaign_id', fields.IntField(null=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'agent_state_change', 'app': 'models', 'indexes': [Index(fields=['user_id', 'at'])], 'pk_attr': 'id', 'table_description': "Append-only: every change of an agent's state, written with the change."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Campaign',
            name='wrap_up_seconds',
            field=fields.IntField(default=0),
        ),
    ]
