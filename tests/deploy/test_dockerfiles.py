"""Dockerfiles: multi-stage, slim Python 3.11 runtime, non-root, healthcheck, no dev deps."""

import re
from pathlib import Path

import pytest
from deploy_manifests import ROOT, dockerfiles, exec_form, parse_dockerfile

ROOT_USERS = {"root", "0", "0:0"}


@pytest.fixture(params=dockerfiles(), ids=lambda p: str(p.relative_to(ROOT)))
def dockerfile(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


def test_there_is_one_dockerfile_per_service() -> None:
    assert {p.name for p in dockerfiles()} == {"notices-api.Dockerfile", "notifier.Dockerfile"}


def test_multi_stage_with_a_slim_python_runtime(dockerfile: Path) -> None:
    parsed = parse_dockerfile(dockerfile)
    build_stages = [s for s in parsed.stages[:-1] if s.all("RUN")]
    assert build_stages, "dependencies are installed in a build stage"
    text = dockerfile.read_text()
    base = parsed.final.base
    if base.startswith("${"):
        default = re.search(rf"ARG {base[2:-1]}=(\S+)", text)
        assert default, base
        base = default.group(1)
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", base), base
    installs = [r for r in parsed.final.all("RUN") if "uv " in r or "pip install" in r]
    assert installs == [], "the runtime stage installs nothing"
    assert any("--from=build" in c for c in parsed.final.all("COPY"))


def test_dependencies_come_from_the_lock_without_dev_groups(dockerfile: Path) -> None:
    syncs = [r for s in parse_dockerfile(dockerfile).stages for r in s.all("RUN") if "uv sync" in r]
    assert syncs
    for command in syncs:
        assert "--frozen" in command or "--locked" in command
        assert "--no-dev" in command
        assert not re.search(r"--(dev|all-groups|group|extra|all-extras)\b", command)


def test_runs_as_a_numeric_non_root_user(dockerfile: Path) -> None:
    users = parse_dockerfile(dockerfile).final.all("USER")
    assert users, "the runtime stage sets USER"
    user = users[-1]
    assert user not in ROOT_USERS
    assert re.fullmatch(r"\d+(:\d+)?", user), "numeric, so runAsNonRoot can verify it"


def test_healthcheck_and_command_are_exec_form(dockerfile: Path) -> None:
    final = parse_dockerfile(dockerfile).final
    healthchecks = final.all("HEALTHCHECK")
    assert len(healthchecks) == 1
    assert exec_form(healthchecks[0])[0] == "python"  # slim images have no curl
    assert exec_form(final.all("CMD")[-1])
