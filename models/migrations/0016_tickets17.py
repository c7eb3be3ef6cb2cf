from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

CATEGORIES_TO_CATALOG = (
    "INSERT INTO contact_category (name, active, created_at, updated_at) "
    "SELECT DISTINCT TRIM(legacy_category), TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM contact_type "
    "WHERE legacy_category IS NOT NULL AND TRIM(legacy_category) <> ''"
)
TYPES_TO_CATEGORIES = (
    "UPDATE contact_type SET category_id = "
    "(SELECT c.id FROM contact_category c WHERE c.name = TRIM(contact_type.legacy_category))"
)


class Migration(migrations.Migration):
    dependencies = [('models', '0015_floor')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ContactCategory',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'contact_category', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A category a contact type may belong to ("Categoria"), from a list the administrator keeps.'},
            bases=['TimestampedModel'],
        ),
        # The free-text category becomes a row of the catalog the administrator keeps: one row per
        # distinct (trimmed) text, and each contact type pointed at its row.
        ops.RenameField(model_name='ContactType', old_name='category', new_name='legacy_category'),
        ops.AddField(
            model_name='ContactType',
            name='category',
            field=fields.ForeignKeyField('models.ContactCategory', source_field='category_id', null=True, db_constraint=True, to_field='id', related_name='contact_types', on_delete=OnDelete.RESTRICT),
        ),
        ops.RunSQL(CATEGORIES_TO_CATALOG, reverse_sql=ops.RunSQL.noop),
        ops.RunSQL(TYPES_TO_CATEGORIES, reverse_sql=ops.RunSQL.noop),
        ops.RemoveField(model_name='ContactType', name='legacy_category'),
        ops.AddField(
            model_name='ContactType',
            name='notes',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.CreateModel(
            name='Occurrence',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'occurrence', 'app': 'models', 'pk_attr': 'id', 'table_description': 'What happened ("Ocorrência").'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Product',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'product', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A product a ticket is about ("Produto").'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='TicketSubject',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'ticket_subject', 'app': 'models', 'pk_attr': 'id', 'table_description': 'What the call is about ("Assunto", e.g. Reclamação): a catalog for the ticket form.'},
            bases=['TimestampedModel'],
        ),
        ops.AddField(
            model_name='Ticket',
            name='occurrence_entry',
            field=fields.ForeignKeyField('models.Occurrence', source_field='occurrence_entry_id', null=True, db_constraint=True, to_field='id', related_name='tickets', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Ticket',
            name='product_entry',
            field=fields.ForeignKeyField('models.Product', source_field='product_entry_id', null=True, db_constraint=True, to_field='id', related_name='tickets', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Ticket',
            name='subject_entry',
            field=fields.ForeignKeyField('models.TicketSubject', source_field='subject_entry_id', null=True, db_constraint=True, to_field='id', related_name='tickets', on_delete=OnDelete.RESTRICT),
        ),
    ]
