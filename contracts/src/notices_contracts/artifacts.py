"""Every file generated from the models: the JSON Schemas and the AsyncAPI document.

``python -m notices_contracts.artifacts contracts`` (``make contracts``) writes them;
with ``--check`` it writes nothing and lists what differs from the models (the drift
gate a test runs too).
"""

import argparse
from collections.abc import Iterable
from pathlib import Path

from notices_contracts import asyncapi
from notices_contracts.registry import EVENT_SPECS, EventSpec
from notices_contracts.schema import SCHEMAS_DIR, schema_files


def generated_files(specs: Iterable[EventSpec] = EVENT_SPECS) -> dict[str, str]:
    """Content of every generated file, keyed by its path relative to ``contracts/``."""
    specs = tuple(specs)
    files = schema_files(specs)
    files[asyncapi.ASYNCAPI_FILE] = asyncapi.render(asyncapi.build_document(specs))
    return files


def write_generated_files(root: Path, specs: Iterable[EventSpec] = EVENT_SPECS) -> list[Path]:
    expected = generated_files(specs)
    schemas_dir = root / SCHEMAS_DIR
    schemas_dir.mkdir(parents=True, exist_ok=True)
    for stray in sorted(schemas_dir.glob("*.json")):
        if stray.relative_to(root).as_posix() not in expected:
            stray.unlink()
    written = []
    for relative_path, content in expected.items():
        path = root / relative_path
        path.write_text(content)
        written.append(path)
    return written


def drifted_files(root: Path, specs: Iterable[EventSpec] = EVENT_SPECS) -> list[str]:
    """What under ``root`` differs from what the models generate; empty when in sync."""
    expected = generated_files(specs)
    problems = []
    for relative_path, content in expected.items():
        path = root / relative_path
        if not path.is_file():
            problems.append(f"{relative_path}: missing")
        elif path.read_text() != content:
            problems.append(f"{relative_path}: differs from the models")
    for path in sorted((root / SCHEMAS_DIR).glob("*.json")):
        relative_path = path.relative_to(root).as_posix()
        if relative_path not in expected:
            problems.append(f"{relative_path}: no event version in the registry generates it")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path, help="the contracts/ directory")
    parser.add_argument("--check", action="store_true", help="only report drift, exit 1 on it")
    arguments = parser.parse_args(argv)
    if arguments.check:
        problems = drifted_files(arguments.root)
        for problem in problems:
            print(f"drift: {problem} (run `make contracts`)")
        return 1 if problems else 0
    for path in write_generated_files(arguments.root):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
