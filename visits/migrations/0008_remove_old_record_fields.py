"""The old record fields, whose text 0007 moved into the new parts."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('visits', '0007_move_old_record_text'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='medicalrecord',
            name='note',
        ),
        migrations.RemoveField(
            model_name='medicalrecord',
            name='prescription',
        ),
        migrations.RemoveField(
            model_name='medicalrecord',
            name='treatment',
        ),
    ]
