"""Recipient rows gain the inbox's fields (nullable until 0003 fills them in)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="noticerecipient",
            name="notice",
            field=models.ForeignKey(
                on_delete=models.deletion.CASCADE,
                related_name="recipient_rows",
                to="notices.notice",
            ),
        ),
        migrations.AddField(
            model_name="noticerecipient",
            name="status",
            field=models.CharField(
                choices=[("draft", "Draft"), ("published", "Published"), ("archived", "Archived")],
                max_length=16,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="noticerecipient",
            name="published_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="noticerecipient",
            name="visible_from",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="noticerecipient",
            name="visible_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="noticerecipient",
            name="category",
            field=models.CharField(max_length=50, null=True),
        ),
        migrations.AddField(
            model_name="noticerecipient",
            name="read_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
