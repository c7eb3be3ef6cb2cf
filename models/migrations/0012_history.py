from tortoise import migrations
from tortoise.migrations import operations as ops
from models.history import MemberEventKind, TicketHistoryKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_ticket_thread_summary')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MemberEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.CampaignMember', source_field='member_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('campaign_id', fields.IntField()),
                ('kind', fields.CharEnumField(description='STAGE_CHANGED: STAGE_CHANGED\nASSIGNED: ASSIGNED\nCLAIMED: CLAIMED\nRELEASED: RELEASED\nOPERATION_RECORDED: OPERATION_RECORDED\nCALLBACK_SCHEDULED: CALLBACK_SCHEDULED\nCALLBACK_RESCHEDULED: CALLBACK_RESCHEDULED\nCALLBACK_REASSIGNED: CALLBACK_REASSIGNED\nCALLBACK_CANCELLED: CALLBACK_CANCELLED\nCALLBACK_DONE: CALLBACK_DONE\nREMOVED: REMOVED', enum_type=MemberEventKind, max_length=25)),
                ('actor_id', fields.IntField(null=True)),
                ('agent_id', fields.IntField(null=True)),
                ('from_stage_id', fields.IntField(null=True)),
                ('to_stage_id', fields.IntField(null=True)),
                ('from_status', fields.CharField(null=True, max_length=10)),
                ('to_status', fields.CharField(null=True, max_length=10)),
                ('callback_id', fields.IntField(null=True)),
                ('operation_id', fields.IntField(null=True)),
                ('due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'member_event', 'app': 'models', 'indexes': [Index(fields=['member_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TicketHistoryEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('models.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='history', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='OPENED: OPENED\nSTATUS_CHANGED: STATUS_CHANGED\nASSIGNED: ASSIGNED\nCLASSIFIED: CLASSIFIED\nCLOSED: CLOSED\nREOPENED: REOPENED\nEMAIL_QUEUED: EMAIL_QUEUED', enum_type=TicketHistoryKind, max_length=20)),
                ('actor_id', fields.IntField(null=True)),
                ('from_status_id', fields.IntField(null=True)),
                ('to_status_id', fields.IntField(null=True)),
                ('from_assignee_id', fields.IntField(null=True)),
                ('to_assignee_id', fields.IntField(null=True)),
                ('closure_reason_id', fields.IntField(null=True)),
                ('classification_id', fields.IntField(null=True)),
                ('subclassification_id', fields.IntField(null=True)),
                ('contact_type_id', fields.IntField(null=True)),
                ('contact_subtype_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'ticket_history', 'app': 'models', 'indexes': [Index(fields=['ticket_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='CampaignMember',
            name='claimed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Operation',
            name='claimed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Operation',
            name='handling_seconds',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Operation',
            name='local_hour',
            field=fields.SmallIntField(null=True),
        ),
        ops.AddField(
            model_name='Operation',
            name='talk_seconds',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Operation',
            name='wrap_up_seconds',
            field=fields.IntField(null=True),
        ),
    ]
