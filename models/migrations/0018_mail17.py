from tortoise import migrations
from tortoise.migrations import operations as ops
from models.mail_template import MailEvent, MailLocale
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0017_timeline')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EmailTemplate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('event', fields.CharEnumField(description='OPENED: OPENED\nCHILD_OPENED: CHILD_OPENED\nMESSAGE_ADDED: MESSAGE_ADDED\nSTATUS_CHANGED: STATUS_CHANGED\nAWAITING_RETURN: AWAITING_RETURN\nASSIGNED: ASSIGNED\nUNASSIGNED: UNASSIGNED\nTICKET_UPDATED: TICKET_UPDATED\nACTION_PERFORMED: ACTION_PERFORMED\nACTION_UPDATED: ACTION_UPDATED\nCLOSED: CLOSED\nREOPENED: REOPENED', enum_type=MailEvent, max_length=20)),
                ('locale', fields.CharEnumField(description='PT_BR: pt-BR\nEN: en', enum_type=MailLocale, max_length=5)),
                ('status', fields.ForeignKeyField('models.TicketStatus', source_field='status_id', null=True, db_constraint=True, to_field='id', related_name='email_templates', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(unique=True, max_length=60)),
                ('subject', fields.CharField(max_length=255)),
                ('body', fields.TextField(unique=False)),
                ('updated_by', fields.ForeignKeyField('models.User', source_field='updated_by_id', null=True, db_constraint=True, to_field='id', related_name='email_templates', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'email_template', 'app': 'models', 'pk_attr': 'id', 'table_description': "An administrator's text for one event in one language (with a status: only for tickets in it)."},
            bases=['TimestampedModel'],
        ),
        ops.AddField(
            model_name='Company',
            name='mail_locale',
            field=fields.CharField(null=True, max_length=5),
        ),
        ops.AddField(
            model_name='OutboxMail',
            name='event',
            field=fields.CharField(null=True, max_length=20),
        ),
        ops.AddField(
            model_name='OutboxMail',
            name='locale',
            field=fields.CharField(null=True, max_length=5),
        ),
        ops.AddIndex(
            model_name='TicketAction',
            index=Index(fields=['responsible_id', 'status', 'due_date', 'id']),
        ),
    ]
