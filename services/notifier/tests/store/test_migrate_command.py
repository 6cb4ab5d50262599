"""`notifier migrate` says what it did."""

from pathlib import Path

import create_only_schema as old
import pytest
from revisions import EVERY_REVISION
from sqlalchemy import create_engine
from typer.testing import CliRunner

from notifier.cli import cli


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "notifier.sqlite3"
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", f"sqlite:///{path}")
    return path


def notifier_migrate() -> list[str]:
    result = CliRunner().invoke(cli, ["migrate"], catch_exceptions=False)
    assert result.exit_code == 0
    return result.stdout.splitlines()


def test_it_names_the_revisions_it_applied_then_says_the_schema_is_up_to_date(
    database: Path,
) -> None:
    assert notifier_migrate() == [f"applied {revision}" for revision in EVERY_REVISION]
    assert notifier_migrate() == ["schema up to date"]


def test_it_says_when_it_takes_over_a_database_of_the_create_only_migrate(
    database: Path,
) -> None:
    engine = create_engine(f"sqlite:///{database}")
    old.metadata.create_all(engine)
    engine.dispose()

    assert notifier_migrate() == [
        "taken over a database of the create-only migrate",
        *(f"applied {revision}" for revision in EVERY_REVISION),
    ]
