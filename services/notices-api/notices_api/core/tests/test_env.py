"""config.env: values are parsed strictly, and a renamed variable's old name still works."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import RENAMED, Env
from notices_api.outbox.config import ENV_PREFIX, RelaySettings

OLD, NEW = "OUTBOX_RELAY_POLL_INTERVAL", "OUTBOX_RELAY_POLL_INTERVAL_SECONDS"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("Yes", True), ("on", True), ("1", True), ("false", False), ("0", False)],
)
def test_booleans_are_the_usual_words(raw: str, expected: bool) -> None:
    assert Env({"FLAG": raw}).bool("FLAG", default=not expected) is expected


@pytest.mark.parametrize(
    ("cast", "raw"), [("bool", "maybe"), ("int", "abc"), ("float", "1.5s"), ("int", "1.5")]
)
def test_a_value_that_does_not_parse_is_refused_naming_the_variable(cast: str, raw: str) -> None:
    env = Env({"SOME_SETTING": raw})

    with pytest.raises(ImproperlyConfigured, match=f"SOME_SETTING='{raw}'"):
        getattr(env, cast)("SOME_SETTING", default=None)


def test_a_value_is_taken_literally_even_when_it_starts_with_a_dollar() -> None:
    env = Env({"DJANGO_SECRET_KEY": "$OTHER-and-the-rest-of-a-generated-key", "OTHER": "x"})

    assert env.str("DJANGO_SECRET_KEY") == "$OTHER-and-the-rest-of-a-generated-key"


def test_a_variable_without_a_default_must_be_set() -> None:
    with pytest.raises(ImproperlyConfigured, match="set the AMQP_URL environment variable"):
        Env({}).str("AMQP_URL")


def test_the_old_name_of_a_renamed_variable_is_read_with_a_warning() -> None:
    env = Env({OLD: "0.25"})

    with pytest.warns(DeprecationWarning, match=f"{OLD} is deprecated: rename it {NEW}"):
        assert env.float(NEW, default=1.0) == 0.25
    assert env.renamed_in_use == [(OLD, NEW)]


def test_the_new_name_wins_when_both_are_set() -> None:
    env = Env({OLD: "0.25", NEW: "3"})

    with pytest.warns(DeprecationWarning, match=f"{OLD} is deprecated and ignored: {NEW}"):
        assert env.float(NEW, default=1.0) == 3.0


def test_a_bad_value_under_the_old_name_names_the_old_name() -> None:
    env = Env({OLD: "soon"})

    with (
        pytest.warns(DeprecationWarning, match=OLD),
        pytest.raises(ImproperlyConfigured, match=f"{OLD}='soon'"),
    ):
        env.float(NEW, default=1.0)


def test_every_relay_duration_says_seconds_and_every_renamed_name_is_a_relay_field() -> None:
    names = {f"{ENV_PREFIX}{field.upper()}": field for field in RelaySettings.__dataclass_fields__}
    durations = {
        name for name, field in names.items() if isinstance(getattr(RelaySettings(), field), float)
    }

    assert all(name.endswith("_SECONDS") for name in durations)
    assert set(RENAMED.values()) <= set(names)


def test_the_relay_reads_its_old_names_too() -> None:
    old_names = {old: str(i + 1) for i, old in enumerate(RENAMED)}

    with pytest.warns(DeprecationWarning, match="is deprecated: rename it"):
        tuning = RelaySettings.from_env(Env(old_names))

    for old, new in RENAMED.items():
        field = new.removeprefix(ENV_PREFIX).lower()
        assert getattr(tuning, field) == float(old_names[old])
