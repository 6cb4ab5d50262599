"""Drift gate: the committed schemas and AsyncAPI document are what the models generate."""

from pathlib import Path

from notices_contracts import EVENT_SPECS, NOTICE_READ_V1, EventSpec, NoticeReadV1
from notices_contracts.artifacts import drifted_files, generated_files, main, write_generated_files


class NoticeReadWithDeviceV1(NoticeReadV1):
    """NoticeReadV1 with one more field: the models changed, the committed files did not."""

    device: str | None = None


def _specs_with_changed_read_model() -> tuple[EventSpec, ...]:
    changed = EventSpec(NOTICE_READ_V1.name, 1, NoticeReadWithDeviceV1, NOTICE_READ_V1.aggregate)
    return tuple(changed if spec == NOTICE_READ_V1 else spec for spec in EVENT_SPECS)


def test_committed_files_match_the_models(contracts_dir: Path) -> None:
    assert drifted_files(contracts_dir) == [], "run `make contracts` and commit the result"


def test_every_event_version_has_a_schema_and_the_asyncapi_document_is_generated() -> None:
    assert set(generated_files()) == {
        *(f"schemas/{spec.routing_key}.json" for spec in EVENT_SPECS),
        "asyncapi.yaml",
    }


def test_the_gate_trips_when_a_model_changes_but_its_schema_was_not_regenerated(
    contracts_copy: Path,
) -> None:
    problems = drifted_files(contracts_copy, _specs_with_changed_read_model())

    assert "schemas/notice.read.v1.json: differs from the models" in problems
    assert not any("notice.published" in problem for problem in problems)


def test_regenerating_clears_the_drift(contracts_copy: Path) -> None:
    specs = _specs_with_changed_read_model()
    write_generated_files(contracts_copy, specs)

    assert drifted_files(contracts_copy, specs) == []
    assert '"device"' in (contracts_copy / "schemas/notice.read.v1.json").read_text()


def test_the_gate_trips_on_a_hand_edit_a_missing_file_and_a_stray_schema(
    contracts_copy: Path,
) -> None:
    asyncapi = contracts_copy / "asyncapi.yaml"
    asyncapi.write_text(asyncapi.read_text().replace("notices events", "hand edited"))
    (contracts_copy / "schemas/notice.archived.v1.json").unlink()
    (contracts_copy / "schemas/notice.read.v0.json").write_text("{}\n")

    assert drifted_files(contracts_copy) == [
        "schemas/notice.archived.v1.json: missing",
        "asyncapi.yaml: differs from the models",
        "schemas/notice.read.v0.json: no event version in the registry generates it",
    ]


def test_regenerating_removes_the_schema_of_a_version_no_longer_in_the_registry(
    contracts_copy: Path,
) -> None:
    (contracts_copy / "schemas/notice.read.v0.json").write_text("{}\n")

    write_generated_files(contracts_copy)

    assert not (contracts_copy / "schemas/notice.read.v0.json").exists()


def test_check_command_exits_non_zero_on_drift_only(
    contracts_dir: Path, contracts_copy: Path, capsys
) -> None:
    assert main(["--check", str(contracts_dir)]) == 0
    (contracts_copy / "schemas/notice.read.v1.json").write_text("{}\n")

    assert main(["--check", str(contracts_copy)]) == 1
    assert "drift: schemas/notice.read.v1.json: differs from the models" in capsys.readouterr().out


def test_generate_command_repairs_the_drift(contracts_copy: Path) -> None:
    (contracts_copy / "schemas/notice.read.v1.json").write_text("{}\n")

    assert main([str(contracts_copy)]) == 0
    assert drifted_files(contracts_copy) == []
