"""DRF's plaintext tokens (``authtoken_token``) become knox tokens: a digest of the same key.

Clients keep their tokens, which now expire ``REST_KNOX["TOKEN_TTL"]`` after this upgrade.
Then the old table, and the record of its migrations, go. A database made without DRF's
token app has no such table: nothing to do. Reversing keeps the knox tokens as they are.
"""

from django.db import migrations
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings

OLD_TABLE = "authtoken_token"


def plaintext_tokens_to_digests(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    quote = schema_editor.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote('key')}, {quote('user_id')} FROM {quote(OLD_TABLE)}")
        rows = cursor.fetchall()
    expiry = timezone.now() + knox_settings.TOKEN_TTL
    auth_token = apps.get_model("knox", "AuthToken")
    auth_token.objects.bulk_create(
        auth_token(
            digest=hash_token(key),
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
            user_id=user_id,
            expiry=expiry,
        )
        for key, user_id in rows
    )
    schema_editor.execute(f"DROP TABLE {quote(OLD_TABLE)}")
    MigrationRecorder(connection).migration_qs.filter(app="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_directory_version"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunPython(plaintext_tokens_to_digests, migrations.RunPython.noop),
    ]
