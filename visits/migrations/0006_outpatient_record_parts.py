"""The outpatient record's parts (chief complaint, present illness, past history, physical
examination, plan, a diagnosis code), the diagnosis catalogue, the patients' allergies and
their "no known allergies". The old fields stay until 0007 has moved their text (0008
removes them)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0004_administrator_groups'),
        ('visits', '0005_display_tokens'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='medicalrecord',
            name='chief_complaint',
            field=models.TextField(blank=True, verbose_name='chief complaint'),
        ),
        migrations.AddField(
            model_name='medicalrecord',
            name='past_history',
            field=models.TextField(blank=True, verbose_name='past history'),
        ),
        migrations.AddField(
            model_name='medicalrecord',
            name='physical_exam',
            field=models.TextField(blank=True, verbose_name='physical examination'),
        ),
        migrations.AddField(
            model_name='medicalrecord',
            name='plan',
            field=models.TextField(blank=True, help_text='Treatment and prescription.', verbose_name='plan'),
        ),
        migrations.AddField(
            model_name='medicalrecord',
            name='present_illness',
            field=models.TextField(blank=True, verbose_name='history of present illness'),
        ),
        migrations.CreateModel(
            name='DiagnosisCatalogue',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(max_length=20, unique=True, verbose_name='code')),
                ('name', models.CharField(max_length=200, verbose_name='name')),
                ('name_en', models.CharField(blank=True, max_length=200, verbose_name='English name')),
                ('active', models.BooleanField(default=True, verbose_name='active')),
            ],
            options={
                'verbose_name': 'diagnosis catalogue entry',
                'verbose_name_plural': 'diagnosis catalogue',
                'ordering': ['code'],
                'indexes': [models.Index(fields=['name'], name='diagnosis_name_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('code', ''), _negated=True), name='diagnosis_code_not_blank')],
            },
        ),
        migrations.AddField(
            model_name='medicalrecord',
            name='diagnosis_code',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='visits.diagnosiscatalogue', verbose_name='diagnosis code'),
        ),
        migrations.CreateModel(
            name='PatientAllergy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('substance', models.CharField(help_text='e.g. penicillin, peanuts.', max_length=100, verbose_name='substance or drug class')),
                ('reaction', models.CharField(blank=True, max_length=200, verbose_name='reaction')),
                ('severity', models.CharField(choices=[('mild', 'Mild'), ('moderate', 'Moderate'), ('severe', 'Severe')], default='moderate', max_length=10, verbose_name='severity')),
                ('recorded_at', models.DateTimeField(verbose_name='recorded at')),
                ('removed_at', models.DateTimeField(blank=True, null=True, verbose_name='removed at')),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='allergies', to='clinic.patient', verbose_name='patient')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='recorded by')),
                ('removed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='removed by')),
            ],
            options={
                'verbose_name': 'allergy',
                'verbose_name_plural': 'allergies',
                'ordering': ['patient_id', 'recorded_at', 'id'],
                'indexes': [models.Index(fields=['patient', 'removed_at'], name='allergy_patient_active_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('severity__in', ['mild', 'moderate', 'severe'])), name='allergy_severity_valid'), models.CheckConstraint(condition=models.Q(('substance', ''), _negated=True), name='allergy_substance_not_blank')],
            },
        ),
        migrations.CreateModel(
            name='NoKnownAllergies',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('confirmed_at', models.DateTimeField(verbose_name='confirmed at')),
                ('confirmed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='confirmed by')),
                ('patient', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='no_known_allergies', to='clinic.patient', verbose_name='patient')),
            ],
            options={
                'verbose_name': 'no known allergies',
                'verbose_name_plural': 'no known allergies',
            },
        ),
    ]
