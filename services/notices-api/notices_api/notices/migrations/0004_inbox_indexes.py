"""The filled-in inbox fields become required; the inbox and search indexes."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations, models

SEARCH_INDEX = GinIndex(
    SearchVector("title", "body", config="simple"), name="notice_search_gin"
)


def add_search_index(apps, schema_editor):
    # Full-text search is PostgreSQL's; on SQLite search falls back to a substring match.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("notices", "Notice"), SEARCH_INDEX)


def remove_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("notices", "Notice"), SEARCH_INDEX)


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0003_fill_inbox_rows"),
    ]

    operations = [
        migrations.AlterField(
            model_name="noticerecipient",
            name="status",
            field=models.CharField(
                choices=[("draft", "Draft"), ("published", "Published"), ("archived", "Archived")],
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="noticerecipient",
            name="published_at",
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name="noticerecipient",
            name="visible_from",
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name="noticerecipient",
            name="category",
            field=models.CharField(max_length=50),
        ),
        migrations.AddIndex(
            model_name="noticerecipient",
            index=models.Index(
                fields=["user", "status", "-published_at"], name="notice_recipient_inbox"
            ),
        ),
        migrations.AddIndex(
            model_name="noticerecipient",
            index=models.Index(
                condition=models.Q(("read_at__isnull", True)),
                fields=["user", "status", "-published_at"],
                name="notice_recipient_unread",
            ),
        ),
        migrations.AddIndex(
            model_name="noticerecipient",
            index=models.Index(
                fields=["user", "status", "category", "-published_at"],
                name="notice_recipient_category",
            ),
        ),
        migrations.RunPython(add_search_index, remove_search_index),
    ]
