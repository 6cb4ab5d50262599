"""Local development: DEBUG on unless the environment says otherwise."""

from config.settings.base import *  # noqa: F403
from config.settings.base import VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
VAR_DIR.mkdir(parents=True, exist_ok=True)
