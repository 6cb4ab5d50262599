"""Compatibility gate: a published version only ever gains optional fields.

Unit tests build each kind of breaking change on a copy of a real message schema and
expect breaking_changes to name it; the gate tests run it against the committed
snapshots of the released versions, and against copies broken on purpose.
"""

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from notices_contracts import (
    EVENT_SPECS,
    NOTICE_PUBLISHED_V1,
    NOTICE_READ_V1,
    EventSpec,
    NoticeReadV1,
)
from notices_contracts.base import AwareDatetime, ContractModel
from notices_contracts.compat import (
    BreakingChange,
    ChangeKind,
    breaking_changes,
    breaking_changes_by_version,
    compatibility_problems,
    main,
    write_snapshots,
)
from notices_contracts.schema import message_schema

Schema = dict[str, Any]


def _published() -> Schema:
    return message_schema(NOTICE_PUBLISHED_V1)


def _data(schema: Schema) -> Schema:
    return schema["$defs"]["NoticePublishedV1"]


def _field(schema: Schema, name: str) -> Schema:
    return _data(schema)["properties"][name]  # type: ignore[no-any-return]


def _add_enum_field(schema: Schema, values: list[str]) -> None:
    _data(schema)["properties"]["channel"] = {"enum": values, "type": "string"}
    _data(schema)["required"].append("channel")


def _changes(mutate: Callable[[Schema], None], *, before: Callable[[Schema], None] | None = None):
    released = _published()
    if before:
        before(released)
    current = copy.deepcopy(released)
    mutate(current)
    return breaking_changes(released, current)


@pytest.mark.parametrize(
    ("before", "mutate", "expected"),
    [
        pytest.param(
            None,
            lambda s: _data(s)["properties"].pop("url"),
            BreakingChange("data.url", ChangeKind.REMOVED, "old consumers read it"),
            id="removed-field",
        ),
        pytest.param(
            None,
            lambda s: s["properties"].pop("correlationid"),
            BreakingChange("correlationid", ChangeKind.REMOVED, "old consumers read it"),
            id="removed-envelope-attribute",
        ),
        pytest.param(
            None,
            lambda s: _field(s, "urgent").update(type="string"),
            BreakingChange("data.urgent", ChangeKind.RETYPED, "boolean -> string"),
            id="retyped-field",
        ),
        pytest.param(
            None,
            lambda s: _field(s, "recipient_ids")["items"].update(type="integer"),
            BreakingChange("data.recipient_ids[]", ChangeKind.RETYPED, "string -> integer"),
            id="retyped-list-item",
        ),
        pytest.param(
            None,
            lambda s: _field(s, "visible_until").update(
                anyOf=[{"format": "date-time", "type": "string"}]
            ),
            BreakingChange("data.visible_until", ChangeKind.RETYPED, "null|string -> string"),
            id="no-longer-nullable",
        ),
        pytest.param(
            None,
            lambda s: _data(s)["properties"].update(
                url={"anyOf": [{"minLength": 1, "type": "string"}, {"type": "null"}]}
            ),
            BreakingChange("data.url", ChangeKind.RETYPED, "string -> null|string"),
            id="became-nullable",
        ),
        pytest.param(
            None,
            lambda s: s["required"].append("traceparent"),
            BreakingChange("traceparent", ChangeKind.NEWLY_REQUIRED, "old messages lack it"),
            id="optional-field-made-required",
        ),
        pytest.param(
            None,
            lambda s: (
                _data(s)["properties"].update(channel={"type": "string"}),
                _data(s)["required"].append("channel"),
            ),
            BreakingChange("data.channel", ChangeKind.NEWLY_REQUIRED, "a new required field"),
            id="new-required-field",
        ),
        pytest.param(
            None,
            lambda s: _data(s)["required"].remove("summary"),
            BreakingChange("data.summary", ChangeKind.NO_LONGER_REQUIRED, "old consumers need it"),
            id="required-field-made-optional",
        ),
        pytest.param(
            lambda s: _add_enum_field(s, ["email", "webhook"]),
            lambda s: _field(s, "channel").update(enum=["email"]),
            BreakingChange(
                "data.channel", ChangeKind.NARROWED, """['"email"', '"webhook"'] -> ['"email"']"""
            ),
            id="narrowed-enum",
        ),
        pytest.param(
            lambda s: _add_enum_field(s, ["email"]),
            lambda s: _field(s, "channel").update(enum=["email", "sms"]),
            BreakingChange(
                "data.channel", ChangeKind.WIDENED, """['"email"'] -> ['"email"', '"sms"']"""
            ),
            id="widened-enum",
        ),
        pytest.param(
            None,
            lambda s: s["properties"]["type"].update(const="notices.notice.published.v2"),
            BreakingChange(
                "type",
                ChangeKind.NARROWED,
                """['"notices.notice.published.v1"'] -> ['"notices.notice.published.v2"']""",
            ),
            id="changed-const",
        ),
        pytest.param(
            None,
            lambda s: _field(s, "title").update(maxLength=200),
            BreakingChange(
                "data.title",
                ChangeKind.CONSTRAINT_CHANGED,
                '{"minLength": 1} -> {"maxLength": 200, "minLength": 1}',
            ),
            id="tightened-constraint",
        ),
        pytest.param(
            None,
            lambda s: _field(s, "author_id").pop("format"),
            BreakingChange(
                "data.author_id", ChangeKind.CONSTRAINT_CHANGED, '{"format": "uuid"} -> {}'
            ),
            id="loosened-format",
        ),
    ],
)
def test_each_kind_of_breaking_change_trips(
    before: Callable[[Schema], None] | None,
    mutate: Callable[[Schema], None],
    expected: BreakingChange,
) -> None:
    assert _changes(mutate, before=before) == [expected]


def test_adding_an_optional_field_is_compatible() -> None:
    def add_optional_field(schema: Schema) -> None:
        _data(schema)["properties"]["channel"] = {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "default": None,
        }

    assert _changes(add_optional_field) == []


def test_documentation_changes_are_compatible() -> None:
    def reword(schema: Schema) -> None:
        _field(schema, "title").update(description="Headline.", title="Headline", examples=["x"])
        _data(schema)["description"] = "Reworded."

    assert _changes(reword) == []


def test_renaming_a_field_is_a_removal_and_a_new_required_field() -> None:
    def rename(schema: Schema) -> None:
        _data(schema)["properties"]["headline"] = _data(schema)["properties"].pop("title")
        _data(schema)["required"] = [
            "headline" if name == "title" else name for name in _data(schema)["required"]
        ]

    assert {(change.path, change.kind) for change in _changes(rename)} == {
        ("data.headline", ChangeKind.NEWLY_REQUIRED),
        ("data.title", ChangeKind.REMOVED),
    }


def test_a_breaking_change_reads_as_path_kind_and_reason() -> None:
    change = BreakingChange("data.url", ChangeKind.REMOVED, "old consumers read it")
    assert str(change) == "data.url: removed (old consumers read it)"


# The gate on the committed snapshots, and on models changed on purpose.


class NoticeReadRenamedV1(ContractModel):
    """user_id renamed: a breaking change that has to be a new version."""

    notice_id: UUID
    reader_id: UUID
    read_at: AwareDatetime


class NoticeReadWithDeviceV1(NoticeReadV1):
    device: str | None = None


def _read_spec(model: type[ContractModel]) -> EventSpec:
    return EventSpec(NOTICE_READ_V1.name, NOTICE_READ_V1.version, model, NOTICE_READ_V1.aggregate)


def _specs_with(replacement: EventSpec) -> tuple[EventSpec, ...]:
    return tuple(
        replacement if spec.routing_key == replacement.routing_key else spec for spec in EVENT_SPECS
    )


def test_every_published_version_is_compatible_with_its_released_snapshot(
    contracts_dir: Path,
) -> None:
    assert compatibility_problems(contracts_dir) == []


def test_the_gate_trips_on_a_breaking_change_to_a_published_model(contracts_copy: Path) -> None:
    specs = _specs_with(_read_spec(NoticeReadRenamedV1))

    problems = compatibility_problems(contracts_copy, specs)

    assert "notice.read.v1: data.user_id: removed (old consumers read it)" in problems
    assert "notice.read.v1: data.reader_id: newly_required (a new required field)" in problems


def test_the_gate_passes_a_model_that_gained_an_optional_field(contracts_copy: Path) -> None:
    specs = _specs_with(_read_spec(NoticeReadWithDeviceV1))

    assert compatibility_problems(contracts_copy, specs) == []


def test_a_new_version_in_the_registry_needs_its_snapshot(contracts_copy: Path) -> None:
    read_v2 = EventSpec(NOTICE_READ_V1.name, 2, NoticeReadRenamedV1, NOTICE_READ_V1.aggregate)

    problems = compatibility_problems(contracts_copy, (*EVENT_SPECS, read_v2))

    assert problems == [
        "notice.read.v2: no snapshot of the released schema at snapshots/notice.read.v2.json"
        " (a version in the registry is published: run `make contracts-snapshot`)"
    ]


def test_dropping_a_version_from_the_registry_trips_until_its_snapshot_is_deleted(
    contracts_copy: Path,
) -> None:
    specs = tuple(spec for spec in EVENT_SPECS if spec != NOTICE_READ_V1)

    assert compatibility_problems(contracts_copy, specs) == [
        "snapshots/notice.read.v1.json: the registry no longer publishes this version"
        " (delete its snapshot only once its retention period is over)"
    ]
    (contracts_copy / "snapshots/notice.read.v1.json").unlink()
    assert compatibility_problems(contracts_copy, specs) == []


def test_snapshotting_refuses_a_breaking_change_and_keeps_the_released_schema(
    contracts_copy: Path,
) -> None:
    snapshot = contracts_copy / "snapshots/notice.read.v1.json"
    released = snapshot.read_text()

    with pytest.raises(ValueError, match="refusing to snapshot breaking changes"):
        write_snapshots(contracts_copy, _specs_with(_read_spec(NoticeReadRenamedV1)))

    assert snapshot.read_text() == released


def test_snapshotting_records_new_versions_and_compatible_additions(contracts_copy: Path) -> None:
    read_v2 = EventSpec(NOTICE_READ_V1.name, 2, NoticeReadRenamedV1, NOTICE_READ_V1.aggregate)
    specs = (*_specs_with(_read_spec(NoticeReadWithDeviceV1)), read_v2)

    write_snapshots(contracts_copy, specs)

    assert compatibility_problems(contracts_copy, specs) == []
    read_v1 = json.loads((contracts_copy / "snapshots/notice.read.v1.json").read_text())
    assert "device" in read_v1["$defs"]["NoticeReadWithDeviceV1"]["properties"]
    assert breaking_changes_by_version(contracts_copy, specs)["notice.read.v2"] == []


def test_check_command_exits_non_zero_on_a_break_only(
    contracts_dir: Path, contracts_copy: Path, capsys
) -> None:
    assert main(["check", str(contracts_dir)]) == 0
    snapshot = contracts_copy / "snapshots/notice.archived.v1.json"
    released = json.loads(snapshot.read_text())
    released["properties"]["partitionkey"] = {"type": "string"}
    snapshot.write_text(json.dumps(released))

    assert main(["check", str(contracts_copy)]) == 1
    assert "incompatible: notice.archived.v1: partitionkey: removed" in capsys.readouterr().out


def test_snapshot_command_records_and_refuses(contracts_copy: Path) -> None:
    (contracts_copy / "snapshots/notice.read.v1.json").unlink()

    assert main(["snapshot", str(contracts_copy)]) == 0
    assert compatibility_problems(contracts_copy) == []

    snapshot = contracts_copy / "snapshots/notice.read.v1.json"
    released = json.loads(snapshot.read_text())
    released["properties"]["partitionkey"] = {"type": "string"}
    snapshot.write_text(json.dumps(released))
    with pytest.raises(ValueError, match=r"notice\.read\.v1: partitionkey: removed"):
        main(["snapshot", str(contracts_copy)])
