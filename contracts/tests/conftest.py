"""Fixtures of the contract tests: the committed contracts/ directory and throwaway copies of it.

Tests that prove a gate trips break a copy under tmp_path, never the committed files.
"""

import shutil
from pathlib import Path

import pytest

CONTRACTS_DIR = Path(__file__).resolve().parents[1]
COMMITTED_ARTIFACTS = ("schemas", "snapshots", "examples", "asyncapi.yaml")


@pytest.fixture
def contracts_dir() -> Path:
    return CONTRACTS_DIR


@pytest.fixture
def contracts_copy(tmp_path: Path) -> Path:
    """A copy of the committed schemas, snapshots, examples and AsyncAPI document."""
    copy = tmp_path / "contracts"
    copy.mkdir()
    for name in COMMITTED_ARTIFACTS:
        source = CONTRACTS_DIR / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        else:
            shutil.copy2(source, copy / name)
    return copy
