"""The two services know each other only through notices_contracts.

An equivalent of an import-linter contract that needs no installed packages: it
reads every module's imports with ``ast``.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
API_PACKAGES = {"notices_api", "config"}
NOTIFIER_PACKAGES = {"notifier"}
CONTRACT_ALLOWED = {"pydantic", "pydantic_core", "typing_extensions", "notices_contracts"}


def imported_top_level_packages(source_root: Path) -> dict[Path, set[str]]:
    found: dict[Path, set[str]] = {}
    for path in source_root.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[path] = names
    return found


@pytest.mark.parametrize(
    ("source_root", "forbidden"),
    [
        (ROOT / "services" / "notices-api", NOTIFIER_PACKAGES),
        (ROOT / "services" / "notifier", API_PACKAGES),
        (ROOT / "services" / "notifier-devtools", API_PACKAGES),
    ],
    ids=[
        "notices-api does not import notifier",
        "notifier does not import notices-api",
        "notifier-devtools does not import notices-api",
    ],
)
def test_services_do_not_import_each_other(source_root: Path, forbidden: set[str]) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(names & forbidden)
        for path, names in imported_top_level_packages(source_root).items()
        if names & forbidden
    }
    assert offenders == {}


def test_contracts_depend_on_pydantic_only() -> None:
    import sys

    stdlib = set(sys.stdlib_module_names)
    offenders = {
        str(path.relative_to(ROOT)): sorted(names - stdlib - CONTRACT_ALLOWED)
        for path, names in imported_top_level_packages(ROOT / "contracts" / "src").items()
        if names - stdlib - CONTRACT_ALLOWED
    }
    assert offenders == {}
