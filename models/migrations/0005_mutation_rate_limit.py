from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_due_alerts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MutationWindow',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='mutation_windows', on_delete=OnDelete.CASCADE)),
                ('window_start', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('count', fields.IntField()),
            ],
            options={'table': 'mutation_window', 'app': 'models', 'unique_together': (('user', 'window_start'),), 'pk_attr': 'id', 'table_description': 'Mutations per user per minute, shared by every server process (the per-user rate limit).'},
            bases=['Model'],
        ),
    ]
