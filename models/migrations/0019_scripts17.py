from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0018_mail17')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CampaignScript',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='script_links', on_delete=OnDelete.CASCADE)),
                ('script', fields.ForeignKeyField('models.Script', source_field='script_id', db_constraint=True, to_field='id', related_name='campaign_links', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
            ],
            options={'table': 'campaign_script', 'app': 'models', 'unique_together': (('campaign', 'script'),), 'pk_attr': 'id', 'table_description': "A script the agent may choose on the campaign's operation screen, in the admin's order."},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='ScriptAnswer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('operation', fields.ForeignKeyField('models.Operation', source_field='operation_id', db_constraint=True, to_field='id', related_name='script_answers', on_delete=OnDelete.CASCADE)),
                ('script', fields.ForeignKeyField('models.Script', source_field='script_id', db_constraint=True, to_field='id', related_name='answers', on_delete=OnDelete.RESTRICT)),
                ('position', fields.IntField()),
                ('question_key', fields.CharField(max_length=40)),
                ('prompt', fields.TextField(unique=False)),
                ('answer_type', fields.CharField(max_length=10)),
                ('value', fields.TextField(unique=False)),
            ],
            options={'table': 'script_answer', 'app': 'models', 'unique_together': (('operation', 'question_key'),), 'pk_attr': 'id', 'table_description': "One answer to a dynamic script's question, recorded with its operation."},
            bases=['TimestampedModel'],
        ),
        ops.AddField(
            model_name='Campaign',
            name='script',
            field=fields.ForeignKeyField('models.Script', source_field='script_id', null=True, db_constraint=True, to_field='id', related_name='default_for', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Operation',
            name='script',
            field=fields.ForeignKeyField('models.Script', source_field='script_id', null=True, db_constraint=True, to_field='id', related_name='operations', on_delete=OnDelete.RESTRICT),
        ),
        ops.AlterModelOptions(
            name='Script',
            options={'table': 'script', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Text shown to the agent ("Script de telemarketing"), and a dynamic script\'s questions.'},
        ),
        ops.AddField(
            model_name='Script',
            name='questions',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
