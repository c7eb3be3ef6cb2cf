from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_idempotency_keys')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DoNotCallNumber',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('number', fields.CharField(unique=True, max_length=16)),
                ('source', fields.CharField(max_length=100)),
                ('reason', fields.TextField(default='', unique=False)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('added_by', fields.ForeignKeyField('models.User', source_field='added_by_id', null=True, db_constraint=True, to_field='id', related_name='do_not_call_numbers', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'do_not_call_number', 'app': 'models', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
    ]
