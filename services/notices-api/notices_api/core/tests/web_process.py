"""A probe run in a fresh web process: ``config.wsgi`` imported as gunicorn imports it,
tracing off, test settings."""

import os
import subprocess
import sys

from django.conf import settings


def web_process_output(probe: str) -> str:
    """What ``probe`` prints, run after ``import config.wsgi`` in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    found = subprocess.run(
        [sys.executable, "-c", f"import config.wsgi\n{probe}"],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()
