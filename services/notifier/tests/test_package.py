"""The runtime package carries what production runs and nothing of the dev tools."""

import ast
import re
import tomllib
from pathlib import Path

import notifier

SERVICE_ROOT = Path(__file__).resolve().parents[1]
# Only the SMTP sink, the webhook receiver and the fake channels (notifier_devtools) use them.
DEV_ONLY = {"aiosmtpd", "standardwebhooks", "notifier_devtools", "notifier-devtools"}


def _distribution_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return match.group(0).lower().replace("_", "-")


def _imported_top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_package_imports() -> None:
    assert notifier.__doc__


def test_the_runtime_dependencies_leave_the_dev_tools_out() -> None:
    project = tomllib.loads((SERVICE_ROOT / "pyproject.toml").read_text())["project"]

    declared = {_distribution_name(requirement) for requirement in project["dependencies"]}

    assert declared & {name.replace("_", "-") for name in DEV_ONLY} == set()


def test_no_runtime_module_imports_a_dev_tool() -> None:
    offenders = {
        str(path.relative_to(SERVICE_ROOT)): sorted(names & DEV_ONLY)
        for path in (SERVICE_ROOT / "src" / "notifier").rglob("*.py")
        if (names := _imported_top_level_names(path)) & DEV_ONLY
    }

    assert offenders == {}
