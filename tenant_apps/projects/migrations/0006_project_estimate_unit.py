from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("projects", "0005_default_states")]

    operations = [
        migrations.AddField(
            model_name="project",
            name="estimate_unit",
            field=models.CharField(choices=[("points", "Points"), ("hours", "Hours")], default="points", max_length=8),
        ),
    ]
