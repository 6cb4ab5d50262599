"""The compatibility gate: a published event version may only gain optional fields.

``contracts/snapshots/<routing key>.json`` holds the JSON Schema of each version as it
was last released. ``breaking_changes(released, current)`` lists what in the current
schema would break a producer or consumer built against the released one:

- old consumers read new messages: a removed field, a field that is no longer
  required, a retyped field, an enum or const that gained values, or a changed
  constraint (format, pattern, length, bounds) fails their validation;
- new consumers read old messages (still queued, or from a producer not yet deployed):
  a newly required field, a narrowed enum or const, or a tightened constraint fails.

Adding an optional field passes both ways, because consumers ignore fields they do
not know. Titles, descriptions, examples and defaults are documentation and never
count. ``python -m notices_contracts.compat check|snapshot contracts`` runs the gate
or refreshes the snapshots at a release (``make contracts-snapshot``), which refuses
while anything breaks.
"""

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from notices_contracts.registry import EVENT_SPECS, EventSpec
from notices_contracts.schema import message_schema, render

SNAPSHOTS_DIR = "snapshots"

_DOCUMENTATION = frozenset(
    {"title", "description", "examples", "default", "$comment", "deprecated", "$id", "$schema"}
)
# Compared one by one below; every other keyword is a constraint compared as a whole.
_STRUCTURE = frozenset({"$ref", "$defs", "type", "const", "enum", "anyOf", "oneOf"}) | {
    "properties",
    "required",
    "items",
}

Schema = dict[str, Any]


class ChangeKind(StrEnum):
    REMOVED = "removed"
    RETYPED = "retyped"
    NEWLY_REQUIRED = "newly_required"
    NO_LONGER_REQUIRED = "no_longer_required"
    NARROWED = "narrowed"
    WIDENED = "widened"
    CONSTRAINT_CHANGED = "constraint_changed"


@dataclass(frozen=True, slots=True)
class BreakingChange:
    path: str
    kind: ChangeKind
    detail: str

    def __str__(self) -> str:
        return f"{self.path or '<message>'}: {self.kind} ({self.detail})"


@dataclass(frozen=True, slots=True)
class _Side:
    """A node of one schema together with the document its ``$ref``s point into."""

    root: Schema
    node: Schema

    def resolved(self) -> "_Side":
        node = self.node
        while "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            node = self.root
            for part in filter(None, pointer.split("/")):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return _Side(self.root, node)

    def at(self, node: Schema) -> "_Side":
        return _Side(self.root, node).resolved()

    @property
    def branches(self) -> list["_Side"]:
        return [self.at(branch) for key in ("anyOf", "oneOf") for branch in self.node.get(key, [])]

    @property
    def types(self) -> frozenset[str]:
        if self.branches:
            return frozenset().union(*(branch.types for branch in self.branches))
        declared = self.node.get("type")
        if isinstance(declared, str):
            return frozenset({declared})
        if isinstance(declared, list):
            return frozenset(declared)
        if "const" in self.node or "enum" in self.node:
            return frozenset(_json_type(value) for value in self.allowed_values or ())
        return frozenset({"any"})

    @property
    def allowed_values(self) -> frozenset[str] | None:
        if "const" in self.node:
            return frozenset({json.dumps(self.node["const"], sort_keys=True)})
        if "enum" in self.node:
            return frozenset(json.dumps(value, sort_keys=True) for value in self.node["enum"])
        return None

    @property
    def constraints(self) -> Schema:
        return {
            key: value
            for key, value in self.node.items()
            if key not in _DOCUMENTATION and key not in _STRUCTURE
        }


def _json_type(encoded: str) -> str:
    value = json.loads(encoded)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}[type(value)]


def breaking_changes(released: Schema, current: Schema) -> list[BreakingChange]:
    """Every backward- or forward-incompatible difference from ``released`` to ``current``."""
    return _compare(_Side(released, released).resolved(), _Side(current, current).resolved(), "")


def _compare(old: _Side, new: _Side, path: str) -> list[BreakingChange]:
    if old.types != new.types:
        detail = f"{'|'.join(sorted(old.types))} -> {'|'.join(sorted(new.types))}"
        return [BreakingChange(path, ChangeKind.RETYPED, detail)]
    changes = _compare_values(old, new, path)
    changes += _compare_branches(old, new, path)
    changes += _compare_properties(old, new, path)
    if "items" in old.node or "items" in new.node:
        changes += _compare(
            old.at(old.node.get("items", {})), new.at(new.node.get("items", {})), f"{path}[]"
        )
    if old.constraints != new.constraints:
        detail = (
            f"{json.dumps(old.constraints, sort_keys=True)}"
            f" -> {json.dumps(new.constraints, sort_keys=True)}"
        )
        changes.append(BreakingChange(path, ChangeKind.CONSTRAINT_CHANGED, detail))
    return changes


def _compare_values(old: _Side, new: _Side, path: str) -> list[BreakingChange]:
    old_values, new_values = old.allowed_values, new.allowed_values
    if old_values == new_values:
        return []
    detail = f"{sorted(old_values or ['<any>'])} -> {sorted(new_values or ['<any>'])}"
    if new_values is not None and (old_values is None or not old_values <= new_values):
        return [BreakingChange(path, ChangeKind.NARROWED, detail)]
    return [BreakingChange(path, ChangeKind.WIDENED, detail)]


def _compare_branches(old: _Side, new: _Side, path: str) -> list[BreakingChange]:
    if not old.branches and not new.branches:
        return []
    old_by_type = {branch.types: branch for branch in old.branches}
    new_by_type = {branch.types: branch for branch in new.branches}
    if old_by_type.keys() != new_by_type.keys():
        detail = "the alternatives (anyOf/oneOf) were split or merged differently"
        return [BreakingChange(path, ChangeKind.CONSTRAINT_CHANGED, detail)]
    return [
        change
        for types, branch in old_by_type.items()
        for change in _compare(branch, new_by_type[types], path)
    ]


def _compare_properties(old: _Side, new: _Side, path: str) -> list[BreakingChange]:
    old_properties = old.node.get("properties", {})
    new_properties = new.node.get("properties", {})
    old_required = set(old.node.get("required", []))
    new_required = set(new.node.get("required", []))
    changes = []
    for name in sorted(old_properties.keys() | new_properties.keys()):
        field_path = f"{path}.{name}" if path else name
        if name not in new_properties:
            changes.append(BreakingChange(field_path, ChangeKind.REMOVED, "old consumers read it"))
        elif name in new_required and name not in old_required:
            reason = "old messages lack it" if name in old_properties else "a new required field"
            changes.append(BreakingChange(field_path, ChangeKind.NEWLY_REQUIRED, reason))
        elif name in old_required and name not in new_required:
            changes.append(
                BreakingChange(field_path, ChangeKind.NO_LONGER_REQUIRED, "old consumers need it")
            )
        if name in old_properties and name in new_properties:
            changes += _compare(
                old.at(old_properties[name]), new.at(new_properties[name]), field_path
            )
    return changes


def snapshot_file(spec: EventSpec) -> str:
    """Where the released schema of ``spec`` lives, relative to ``contracts/``."""
    return f"{SNAPSHOTS_DIR}/{spec.routing_key}.json"


def breaking_changes_by_version(
    root: Path, specs: Iterable[EventSpec] = EVENT_SPECS
) -> dict[str, list[BreakingChange]]:
    """Breaking changes of every version that has a snapshot under ``root``."""
    return {
        spec.routing_key: breaking_changes(
            json.loads((root / snapshot_file(spec)).read_text()), message_schema(spec)
        )
        for spec in specs
        if (root / snapshot_file(spec)).is_file()
    }


def compatibility_problems(root: Path, specs: Iterable[EventSpec] = EVENT_SPECS) -> list[str]:
    """What breaks the released versions snapshotted under ``root``; empty when compatible."""
    specs = tuple(specs)
    problems = [
        f"{spec.routing_key}: no snapshot of the released schema at {snapshot_file(spec)}"
        " (a version in the registry is published: run `make contracts-snapshot`)"
        for spec in specs
        if not (root / snapshot_file(spec)).is_file()
    ]
    problems += [
        f"{routing_key}: {change}"
        for routing_key, changes in breaking_changes_by_version(root, specs).items()
        for change in changes
    ]
    published = {snapshot_file(spec) for spec in specs}
    problems += [
        f"{path.relative_to(root).as_posix()}: the registry no longer publishes this version"
        " (delete its snapshot only once its retention period is over)"
        for path in sorted((root / SNAPSHOTS_DIR).glob("*.json"))
        if path.relative_to(root).as_posix() not in published
    ]
    return problems


def write_snapshots(root: Path, specs: Iterable[EventSpec] = EVENT_SPECS) -> list[Path]:
    """Record the current schemas as released; refuses while any change breaks a snapshot."""
    specs = tuple(specs)
    breaking = [
        f"{routing_key}: {change}"
        for routing_key, changes in breaking_changes_by_version(root, specs).items()
        for change in changes
    ]
    if breaking:
        raise ValueError("refusing to snapshot breaking changes:\n" + "\n".join(breaking))
    (root / SNAPSHOTS_DIR).mkdir(parents=True, exist_ok=True)
    written = []
    for spec in specs:
        path = root / snapshot_file(spec)
        path.write_text(render(message_schema(spec)))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the compatibility gate of the event contract")
    parser.add_argument("command", choices=["check", "snapshot"])
    parser.add_argument("root", type=Path, help="the contracts/ directory")
    arguments = parser.parse_args(argv)
    if arguments.command == "snapshot":
        for path in write_snapshots(arguments.root):
            print(path)
        return 0
    problems = compatibility_problems(arguments.root)
    for problem in problems:
        print(f"incompatible: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
