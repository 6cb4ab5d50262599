import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """Existing groups keep their creator as owner; groups whose creator is gone have none."""

    dependencies = [
        ("groups", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="recipientgroup", old_name="created_by", new_name="owner"),
        migrations.AlterField(
            model_name="recipientgroup",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterModelOptions(
            name="recipientgroup",
            options={
                "ordering": ["name"],
                "permissions": [
                    ("manage_all_groups", "Can rename, delete and change any group")
                ],
            },
        ),
    ]
