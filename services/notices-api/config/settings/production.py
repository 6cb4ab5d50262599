"""Production: refuses to start with DEBUG on, the development secret key or an open host list.

DJANGO_HTTPS=true is the one switch for serving behind a TLS-terminating proxy: it trusts
the proxy's X-Forwarded-Proto, redirects plain HTTP, sends HSTS and marks cookies secure.
It is off by default because without such a proxy a client could forge X-Forwarded-Proto.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import ALLOWED_HOSTS, DEBUG, DEV_SECRET_KEY, MIDDLEWARE, SECRET_KEY

if DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off in production")
if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("set DJANGO_SECRET_KEY to a random value of 32+ characters")

if not [h for h in ALLOWED_HOSTS if h.strip()] or "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("set DJANGO_ALLOWED_HOSTS to the host names served, without '*'")

HTTPS = os.environ.get("DJANGO_HTTPS", "false").lower() in {"1", "true", "yes"}
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Probes and scrapes reach the pod over plain HTTP, inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz", r"^readyz", r"^metrics"]
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

# The app serves its own static files (no CDN: it works offline), from STATIC_ROOT, which
# the image fills with collectstatic. Right after SecurityMiddleware, as whitenoise asks.
_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
MIDDLEWARE = [
    *MIDDLEWARE[: _security + 1],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[_security + 1 :],
]
