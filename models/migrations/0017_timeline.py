from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0016_tickets17')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PersonConversion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('suspect_id', fields.IntField()),
                ('prospect_id', fields.IntField()),
                ('actor_id', fields.IntField(null=True)),
                ('suspect_deleted', fields.BooleanField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'person_conversion', 'app': 'models', 'indexes': [Index(fields=['prospect_id', 'created_at']), Index(fields=['suspect_id', 'created_at'])], 'pk_attr': 'id', 'table_description': "One suspect -> prospect conversion, when and by whom (Person.timeline's ConversionEntry)."},
            bases=['Model'],
        ),
    ]
