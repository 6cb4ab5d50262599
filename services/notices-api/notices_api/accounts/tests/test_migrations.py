"""Upgrading from DRF's plaintext tokens: each issued token keeps working, until it expires."""

import secrets
from datetime import timedelta
from importlib import import_module
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from knox.models import AuthToken

from notices_api.core.tests.test_problems import assert_problem

BEFORE = [("accounts", "0003_user_directory_version")]
# DRF's token app as it was installed (its table and the record of its migrations).
OLD_TOKEN_MIGRATIONS = ["0001_initial", "0002_auto_20160226_1747"]
AFTER = [("accounts", "0004_api_tokens_to_knox")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets)


def _install_old_tokens(state: Any) -> Any:
    """Apply DRF's token migrations (not installed any more) to the database and ``state``."""
    for name in OLD_TOKEN_MIGRATIONS:
        module = import_module(f"rest_framework.authtoken.migrations.{name}")
        with connection.schema_editor() as editor:
            state = module.Migration(name, "authtoken").apply(state, editor)
        MigrationRecorder(connection).record_applied("authtoken", name)
    return state.apps


@pytest.mark.django_db(transaction=True)
def test_upgrade_turns_each_plaintext_token_into_a_digest(make_user, client, settings):
    users = [make_user(f"client{i}") for i in range(3)]
    # The schema as it was: DRF's token app installed, its table filled.
    old_token = _install_old_tokens(_migrate(BEFORE)).get_model("authtoken", "Token")
    keys = {
        user.username: old_token.objects.create(key=secrets.token_hex(20), user_id=user.pk).key
        for user in users
    }

    upgraded = timezone.now()
    _migrate(AFTER)

    assert "authtoken_token" not in connection.introspection.table_names()
    assert not MigrationRecorder.Migration.objects.filter(app="authtoken").exists()
    stored = [str(value) for row in AuthToken.objects.values() for value in row.values()]
    assert not any(key in value for key in keys.values() for value in stored)
    ttl = settings.REST_KNOX["TOKEN_TTL"]
    for username, key in keys.items():
        me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
        assert me.status_code == 200, me.content
        assert me.json()["username"] == username
        token = AuthToken.objects.get(user__username=username)
        assert upgraded + ttl <= token.expiry <= timezone.now() + ttl
    # Migrated tokens expire as any other does.
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert_problem(client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {keys['client0']}"), 401)


@pytest.mark.django_db(transaction=True)
def test_a_new_database_has_no_plaintext_table_to_convert(make_user):
    _migrate(BEFORE)
    _migrate(AFTER)
    assert "authtoken_token" not in connection.introspection.table_names()
    assert AuthToken.objects.count() == 0
