"""`notifier migrate` says what it did.

The command runs as its own process: it configures logging for the whole process,
which must not leak into the other tests.
"""

import os
import subprocess
import sys
from pathlib import Path

import create_only_schema as old
import pytest
from revisions import EVERY_REVISION
from sqlalchemy import create_engine

NOTIFIER = Path(sys.executable).with_name("notifier")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "notifier.sqlite3"


def notifier_migrate(database: Path) -> list[str]:
    done = subprocess.run(
        [NOTIFIER, "migrate"],
        env={**os.environ, "NOTIFIER_DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.splitlines()


def test_it_names_the_revisions_it_applied_then_says_the_schema_is_up_to_date(
    database: Path,
) -> None:
    assert notifier_migrate(database) == [f"applied {revision}" for revision in EVERY_REVISION]
    assert notifier_migrate(database) == ["schema up to date"]


def test_it_says_when_it_takes_over_a_database_of_the_create_only_migrate(
    database: Path,
) -> None:
    engine = create_engine(f"sqlite:///{database}")
    old.metadata.create_all(engine)
    engine.dispose()

    assert notifier_migrate(database) == [
        "taken over a database of the create-only migrate",
        *(f"applied {revision}" for revision in EVERY_REVISION),
    ]


def notifier_migrate_check(database: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NOTIFIER, "migrate", "--check"],
        env={**os.environ, "NOTIFIER_DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_fails_until_the_schema_is_at_head_and_changes_nothing(database: Path) -> None:
    before = notifier_migrate_check(database)
    assert before.returncode == 1
    assert before.stdout.split(":")[0] == "revisions not applied"
    assert notifier_migrate_check(database).returncode == 1  # it migrated nothing

    notifier_migrate(database)
    after = notifier_migrate_check(database)
    assert after.returncode == 0
    assert after.stdout.splitlines() == ["schema up to date"]
