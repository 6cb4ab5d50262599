"""Local development: DEBUG on unless the environment says otherwise."""

import os

from config.settings.base import *  # noqa: F403
from config.settings.base import VAR_DIR

DEBUG = os.environ.get("DJANGO_DEBUG", "true").lower() in {"1", "true", "yes"}
VAR_DIR.mkdir(parents=True, exist_ok=True)
