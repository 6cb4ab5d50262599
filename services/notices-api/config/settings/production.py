"""Production: refuses to start with DEBUG on, a weak secret key or metrics token, or an
open host list.

DJANGO_HTTPS=true is the one switch for serving behind a TLS-terminating proxy: it trusts
the proxy's X-Forwarded-Proto, redirects plain HTTP, sends HSTS and marks cookies secure.
It is off by default because without such a proxy a client could forge X-Forwarded-Proto.
"""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import (
    ALLOWED_HOSTS,
    DEBUG,
    DEV_SECRET_KEY,
    MIDDLEWARE,
    NOTICES_METRICS_TOKEN,
    SECRET_KEY,
    env,
)


def refuse_weak_secret(name: str, value: str) -> None:
    """A secret is 32+ characters and not the CHANGE-ME placeholder of deploy/k8s/config
    (the notifier's rule for its tokens, notifier.app.check_settings)."""
    if len(value) < 32 or "CHANGE-ME" in value:
        raise ImproperlyConfigured(f"set {name} to a random value of 32+ characters")


if DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off in production")
if SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("set DJANGO_SECRET_KEY to a random value of 32+ characters")
refuse_weak_secret("DJANGO_SECRET_KEY", SECRET_KEY)
# Unset, /metrics is open (docs/security.md); set, it must be worth asking for.
if NOTICES_METRICS_TOKEN:
    refuse_weak_secret("NOTICES_METRICS_TOKEN", NOTICES_METRICS_TOKEN)

if not [h for h in ALLOWED_HOSTS if h.strip()] or "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("set DJANGO_ALLOWED_HOSTS to the host names served, without '*'")

HTTPS = env.bool("DJANGO_HTTPS", default=False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Probes and scrapes reach the pod over plain HTTP, inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz", r"^readyz", r"^metrics"]
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# The app serves its own static files (no CDN: it works offline), from STATIC_ROOT, which
# the image fills with collectstatic. Right after SecurityMiddleware, as whitenoise asks.
_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
MIDDLEWARE = [
    *MIDDLEWARE[: _security + 1],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[_security + 1 :],
]
