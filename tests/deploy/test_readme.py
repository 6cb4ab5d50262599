"""README.md's configuration tables name every env var the code reads, and nothing else."""

import re
import subprocess

from deploy_code import (
    ROOT,
    api_env_reads,
    notifier_env_reads,
    notifier_settings_available,
    relay_setting_defaults,
    waits_for,
)

README = (ROOT / "README.md").read_text()
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]+$")


def readme_table_names() -> set[str]:
    """Backticked names in the first column of the tables under "## Configuration"."""
    section = README.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names |= {n for n in re.findall(r"`([^`]+)`", first_cell) if ENV_NAME.match(n)}
    return names


def test_readme_lists_every_env_var_the_services_read() -> None:
    if not notifier_settings_available():
        waits_for("notifier.settings (notifier branch, not merged)")
    read = set(api_env_reads()) | set(notifier_env_reads())
    missing = read - readme_table_names()
    assert missing == set(), f"README.md's configuration table lacks {sorted(missing)}"


def test_readme_lists_only_names_something_reads() -> None:
    """Names beyond the services' (make run, tests) must at least occur in the tracked files."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    sources = "\n".join(
        (ROOT / name.decode()).read_text(errors="replace")
        for name in tracked
        if name and not name.endswith((b".md", b".lock")) and (ROOT / name.decode()).is_file()
    )
    unknown = {
        name
        for name in readme_table_names() - set(relay_setting_defaults())
        if not re.search(rf"\b{name}\b", sources)
    }
    assert unknown == set(), f"README.md documents names nothing reads: {sorted(unknown)}"
