"""What the services' code says about deployment: env vars read, ports, probe paths, topology.

Everything here is read from the code itself (AST or import), never from a copied list,
so the deploy tests follow the code as it changes.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
API_DIR = ROOT / "services" / "notices-api"
NOTIFIER_SRC = ROOT / "services" / "notifier" / "src" / "notifier"

# A token itself, not a setting about tokens such as NOTICES_API_TOKEN_TTL_SECONDS.
_TOKEN = r"TOKEN(?!.*_SECONDS$)"
# Configuration a deployment must set explicitly even though the code has a default:
# the default points at a local machine or is unsafe outside one.
MUST_BE_SET = (
    re.compile(r"_URL$"),  # databases, broker, public links
    re.compile(r"SECRET"),
    re.compile(_TOKEN),
    re.compile(r"^SMTP_HOST$"),
    re.compile(r"^DJANGO_ALLOWED_HOSTS$"),
)
# Values that are credentials: they belong in a Secret, never in a ConfigMap.
CREDENTIAL_NAME = re.compile(rf"SECRET|{_TOKEN}|PASSWORD|USERNAME")
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@:]+:[^/@]+@")


def waits_for(what: str) -> NoReturn:
    """Skip a check whose code lives on a branch not merged yet. With DEPLOY_TESTS_STRICT=1
    (set it once every branch is in) the same condition fails instead of skipping."""
    message = f"waits for {what}"
    if os.environ.get("DEPLOY_TESTS_STRICT") == "1":
        pytest.fail(f"{message}, and DEPLOY_TESTS_STRICT=1 says everything is merged")
    pytest.skip(message)


@dataclass(frozen=True)
class EnvRead:
    name: str
    has_default: bool

    @property
    def must_be_set(self) -> bool:
        return not self.has_default or any(p.search(self.name) for p in MUST_BE_SET)


def _settings_env_read(node: ast.AST) -> tuple[str, ast.expr | None] | None:
    """Name and default (None: no default) of a read through the notices-api settings'
    django-environ reader, ``env.<cast>("NAME", default=...)``; None for any other node."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "env"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return None
    defaults = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "default")]
    return node.args[0].value, (defaults[0] if defaults else None)


def _env_reads_in(tree: ast.AST) -> Iterator[EnvRead]:
    """os.environ.get / os.getenv / os.environ.setdefault / os.environ[...] with a literal name,
    and the notices-api settings' django-environ reader: ``env.<cast>("NAME", default=...)``."""

    def is_environ(node: ast.expr) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
            isinstance(node, ast.Name) and node.id == "environ"
        )

    for node in ast.walk(tree):
        settings_read = _settings_env_read(node)
        if settings_read is not None:
            name, default = settings_read
            yield EnvRead(name, has_default=default is not None)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            reads_environ = func.attr in {"get", "setdefault"} and is_environ(func.value)
            is_getenv = func.attr == "getenv"
            if (reads_environ or is_getenv) and node.args:
                name = node.args[0]
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    yield EnvRead(name.value, has_default=len(node.args) > 1 or func.attr == "get")
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and is_environ(node.value)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            yield EnvRead(node.slice.value, has_default=False)


def _production_settings_modules() -> list[Path]:
    """config/settings/production.py and the settings modules it imports, transitively."""
    settings_dir = API_DIR / "config" / "settings"
    seen: list[Path] = []
    pending = [settings_dir / "production.py"]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.append(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "config.settings."
            ):
                pending.append(settings_dir / f"{node.module.rsplit('.', 1)[1]}.py")  # type: ignore[union-attr]
    return seen


def _is_test_module(path: Path) -> bool:
    return "tests" in path.parts or path.name.startswith("test_") or path.name == "conftest.py"


def contracts_source_files() -> list[Path]:
    """The contracts package, which runs in both images (it reads the tracing switch)."""
    return sorted((ROOT / "contracts" / "src").rglob("*.py"))


def api_source_files() -> list[Path]:
    """What runs in the notices-api image: production settings, entry points, the app code,
    the contracts package."""
    app_code = [p for p in (API_DIR / "notices_api").rglob("*.py") if not _is_test_module(p)]
    entry_points = [
        API_DIR / "manage.py",
        API_DIR / "config" / "wsgi.py",
        API_DIR / "config" / "serving.py",
    ]
    return (
        _production_settings_modules() + entry_points + sorted(app_code) + contracts_source_files()
    )


def relay_setting_defaults() -> dict[str, str]:
    """``OUTBOX_RELAY_<FIELD>`` and its default, for each field of the relay's RelaySettings
    (read through ``RelaySettings.from_env``, so no literal ``os.environ`` call names them)."""
    path = API_DIR / "notices_api" / "outbox" / "config.py"
    if not path.exists():
        return {}
    # The module is free of Django imports by design: load it on its own.
    spec = importlib.util.spec_from_file_location("_relay_config", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    defaults = module.RelaySettings()
    return {
        f"{module.ENV_PREFIX}{field.name.upper()}": str(getattr(defaults, field.name))
        for field in dataclasses.fields(defaults)
    }


def api_env_reads() -> dict[str, EnvRead]:
    reads = {name: EnvRead(name, has_default=True) for name in relay_setting_defaults()}
    for path in api_source_files():
        for read in _env_reads_in(ast.parse(path.read_text(), filename=str(path))):
            known = reads.get(read.name)
            # Read in several places: it needs setting if any one of them has no default.
            reads[read.name] = EnvRead(
                read.name, has_default=read.has_default and (known is None or known.has_default)
            )
    return reads


def api_setting_default(env_name: str) -> str:
    """The literal default of ``env.<cast>(env_name, default=<literal>)`` in the settings."""
    for path in _production_settings_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            settings_read = _settings_env_read(node)
            if settings_read is not None and settings_read[0] == env_name:
                default = settings_read[1]
                if isinstance(default, ast.Constant):
                    return str(default.value)
    relay_defaults = relay_setting_defaults()
    if env_name in relay_defaults:
        return relay_defaults[env_name]
    raise LookupError(f"no env.<cast>({env_name!r}, default=<literal>) in the API settings")


def notifier_settings_available() -> bool:
    return (NOTIFIER_SRC / "settings.py").exists()


def notifier_env_reads() -> dict[str, EnvRead]:
    """Fields of every pydantic-settings class in notifier.settings, by the env name they read,
    and what the contracts package reads."""
    from pydantic import AliasChoices
    from pydantic_settings import BaseSettings

    import notifier.settings as module

    reads: dict[str, EnvRead] = {}
    for value in vars(module).values():
        if not (
            isinstance(value, type)
            and issubclass(value, BaseSettings)
            and value.__module__ == module.__name__
        ):
            continue
        prefix = str(value.model_config.get("env_prefix", ""))
        for field_name, field in value.model_fields.items():
            alias = field.validation_alias or field.alias
            if isinstance(alias, AliasChoices):
                names = [c for c in alias.choices if isinstance(c, str)]
            elif isinstance(alias, str):
                names = [alias]
            else:
                names = [f"{prefix}{field_name}".upper()]
            for name in names:
                reads[name] = EnvRead(name, has_default=not field.is_required())
    for path in contracts_source_files():
        for read in _env_reads_in(ast.parse(path.read_text(), filename=str(path))):
            reads[read.name] = read
    return reads


def notifier_settings_under(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """notifier.settings.Settings() as the notifier process would build it under ``env``."""
    if not notifier_settings_available():
        waits_for("notifier.settings (notifier branch, not merged)")
    from notifier.settings import Settings

    for name in notifier_env_reads():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def notifier_roles() -> frozenset[str]:
    from notifier.settings import Role

    return frozenset(role.value for role in Role)


def notifier_roles_under(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> frozenset[str]:
    """The roles ``notifier run`` runs under ``env``, as the notifier's settings decide them."""
    roles = notifier_settings_under(env, monkeypatch).roles
    return frozenset(role.value for role in roles)


def notifier_cli_accepts(argv: list[str]) -> bool:
    """Whether the installed ``notifier`` command accepts ``argv`` (commands and options).

    Asks for ``--help`` after them: the parser rejects an unknown option before help runs,
    and help does nothing else (no database, no broker).
    """
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("notifier")), *argv, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode in {0, 2}, completed.stderr[-3000:]  # 2: a usage error
    return completed.returncode == 0


def notifier_setting_default(env_name: str) -> Any:
    from notifier.settings import Settings

    for field in Settings.model_fields.values():
        if env_name in {field.alias, field.validation_alias}:
            return field.get_default(call_default_factory=True)
    raise LookupError(f"notifier.settings.Settings has no field read from {env_name}")


def notifier_route_paths() -> set[str]:
    """Paths the notifier's HTTP app serves, from the route registrations in its source.

    Reads ``@x.get("/path")``-style decorators and ``add_route``/``add_api_route``/``mount``
    calls, joined with the ``prefix=`` of an ``APIRouter`` bound to the same name.
    """
    methods = {"get", "head", "api_route", "route", "add_api_route", "add_route", "mount"}
    paths: set[str] = set()
    for path in NOTIFIER_SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        prefixes: dict[str, str] = {}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and isinstance(node.targets[0], ast.Name)
            ):
                for keyword in node.value.keywords:
                    if keyword.arg == "prefix" and isinstance(keyword.value, ast.Constant):
                        prefixes[node.targets[0].id] = str(keyword.value.value)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in methods
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and node.args[0].value.startswith("/")
            ):
                owner = node.func.value
                prefix = prefixes.get(owner.id, "") if isinstance(owner, ast.Name) else ""
                paths.add(prefix + node.args[0].value)
    return paths


def notifier_cli_commands() -> set[str]:
    """Command names the notifier's Typer CLI defines (``@app.command("run")``, groups)."""
    names: set[str] = set()
    for path in NOTIFIER_SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_typer"
            ):  # a command group, e.g. `notifier dlq ...`
                names |= {
                    str(k.value.value)
                    for k in node.keywords
                    if k.arg == "name" and isinstance(k.value, ast.Constant)
                }
            if not (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)):
                continue
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr == "command"
                ):
                    explicit = [
                        a.value
                        for a in decorator.args
                        if isinstance(a, ast.Constant) and isinstance(a.value, str)
                    ]
                    names.add(explicit[0] if explicit else node.name.replace("_", "-"))
    return names


METRIC_CONSTRUCTORS = {
    "Counter",
    "Gauge",
    "Histogram",
    "Summary",
    "CounterMetricFamily",
    "GaugeMetricFamily",
    "HistogramMetricFamily",
}


def metric_names() -> set[str]:
    """Names of the Prometheus metrics both services register (without ``_total``)."""
    names: set[str] = set()
    for path in (ROOT / "services").rglob("*.py"):
        if _is_test_module(path) or ".venv" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (
                called in METRIC_CONSTRUCTORS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                names.add(first.value.removesuffix("_total"))
    return names


def api_management_commands() -> set[str]:
    return {
        path.stem
        for path in (API_DIR / "notices_api").glob("*/management/commands/*.py")
        if not path.name.startswith("_")
    }


def run_in_api(script: str, env: dict[str, str]) -> Any:
    """Run ``script`` in a fresh interpreter from the notices-api directory with exactly
    ``env`` (plus PATH); the script prints one JSON value, which is returned."""
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=API_DIR,
        env={**env, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


RESOLVE_PATHS = """
import json, sys
import django
django.setup()
from django.urls import Resolver404, resolve
found = {}
for path in PATHS:
    try:
        match = resolve(path)
        found[path] = match.view_name or match.func.__qualname__
    except Resolver404:
        found[path] = None
print(json.dumps(found))
"""


def api_resolve_paths(paths: list[str], env: dict[str, str]) -> dict[str, str | None]:
    """Resolve URL paths against notices-api's URLconf under ``env``'s settings module."""
    script = f"PATHS = {paths!r}\n{RESOLVE_PATHS}"
    result: dict[str, str | None] = run_in_api(script, env)
    return result
