from tortoise import migrations
from tortoise.migrations import operations as ops
from models.campaign import QueueStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_do_not_call_register')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='CampaignMember',
            name='status',
            field=fields.CharEnumField(default=QueueStatus.NOT_ACTED, description='NOT_ACTED: NOT_ACTED\nSCHEDULED: SCHEDULED\nCONCLUDED: CONCLUDED\nREMOVED: REMOVED', enum_type=QueueStatus, max_length=10),
        ),
    ]
