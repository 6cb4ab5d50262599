# syntax=docker/dockerfile:1.7
# notices-api image: the HTTP API (gunicorn, the default command), the outbox relay
# (python manage.py outbox_relay) and the migrations (python manage.py migrate).
# Build from the repository root:  docker build -f deploy/notices-api.Dockerfile -t notices-api .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.13 AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Workspace manifests first: the dependency layer is rebuilt only when uv.lock changes.
# uv reads every member's pyproject.toml, also of the notifier and its dev tools, which it
# does not install.
COPY pyproject.toml uv.lock ./
COPY contracts/pyproject.toml contracts/pyproject.toml
COPY services/notices-api/pyproject.toml services/notices-api/pyproject.toml
COPY services/notifier/pyproject.toml services/notifier/pyproject.toml
COPY services/notifier-devtools/pyproject.toml services/notifier-devtools/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package notices-api
# notices-contracts is installed as a wheel (no-editable): the runtime needs no source tree.
COPY contracts/src contracts/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package notices-api

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app
COPY --from=build /app/.venv /app/.venv
# notices-api is not a package (uv workspace member with package = false): it runs
# from its directory, so its code is copied as it is.
COPY services/notices-api /app/services/notices-api
WORKDIR /app/services/notices-api
# Bytecode now: at run time the root filesystem is read-only (Kubernetes).
# The app serves its static files itself (whitenoise), from STATIC_ROOT.
RUN DJANGO_SETTINGS_MODULE=config.settings.base python manage.py collectstatic --no-input -v 0
RUN python -m compileall -q .
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# One worker process per container with threads: /metrics then reports the whole
# container (prometheus_client without multiprocess mode sees one process). Scale
# with more containers, or override the flags with GUNICORN_CMD_ARGS.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "1", "--threads", "8", "--worker-tmp-dir", "/dev/shm", "--graceful-timeout", "20", "--timeout", "30"]
