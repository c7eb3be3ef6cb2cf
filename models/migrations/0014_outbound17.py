from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0013_screens')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SavedQueueFilter',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('agent', fields.ForeignKeyField('models.User', source_field='agent_id', db_constraint=True, to_field='id', related_name='saved_queue_filters', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='saved_queue_filters', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('criteria', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'saved_queue_filter', 'app': 'models', 'unique_together': (('agent', 'name'),), 'pk_attr': 'id', 'table_description': 'A queue filter an agent keeps under a name ("filtros personalizados"), for one campaign or all.'},
            bases=['TimestampedModel'],
        ),
        ops.AddField(
            model_name='Person',
            name='address_number',
            field=fields.CharField(default='', db_default='', max_length=20),
        ),
        ops.AddField(
            model_name='Person',
            name='birth_date',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Person',
            name='cep',
            field=fields.CharField(null=True, max_length=8),
        ),
        ops.AddField(
            model_name='Person',
            name='city',
            field=fields.CharField(default='', db_default='', max_length=100),
        ),
        ops.AddField(
            model_name='Person',
            name='city_key',
            field=fields.CharField(default='', db_default='', max_length=100),
        ),
        ops.AddField(
            model_name='Person',
            name='notes',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='Person',
            name='state',
            field=fields.CharField(default='', db_default='', max_length=2),
        ),
        ops.AddField(
            model_name='Person',
            name='street',
            field=fields.CharField(default='', db_default='', max_length=200),
        ),
        ops.AddIndex(
            model_name='Person',
            index=Index(fields=['city_key', 'id']),
        ),
        ops.AddIndex(
            model_name='Person',
            index=Index(fields=['cep', 'id']),
        ),
    ]
