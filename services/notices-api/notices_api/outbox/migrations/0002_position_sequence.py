"""PostgreSQL: the sequence behind OutboxEvent.position (see NextOutboxPosition)."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def create_sequence(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE SEQUENCE IF NOT EXISTS outbox_outboxevent_position_seq "
            "OWNED BY outbox_outboxevent.position"
        )


def drop_sequence(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS outbox_outboxevent_position_seq")


class Migration(migrations.Migration):
    dependencies = [("outbox", "0001_initial")]
    operations = [migrations.RunPython(create_sequence, drop_sequence)]
