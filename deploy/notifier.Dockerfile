# syntax=docker/dockerfile:1.7
# notifier image: `notifier run` (consumer, dispatcher and the HTTP API on :8001, the
# default command) and `notifier migrate`.
# Build from the repository root:  docker build -f deploy/notifier.Dockerfile -t notifier .

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
# uv reads every member's pyproject.toml, also of notices-api and notifier-devtools, which
# it does not install.
COPY pyproject.toml uv.lock ./
COPY contracts/pyproject.toml contracts/pyproject.toml
COPY services/notices-api/pyproject.toml services/notices-api/pyproject.toml
COPY services/notifier/pyproject.toml services/notifier/pyproject.toml
COPY services/notifier-devtools/pyproject.toml services/notifier-devtools/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package notifier
# notifier and notices-contracts are installed as wheels (templates included): the
# runtime stage needs nothing but the virtual environment.
COPY contracts/src contracts/src
COPY services/notifier/src services/notifier/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package notifier

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app
COPY --from=build /app/.venv /app/.venv
WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8001
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/healthz', timeout=2)"]
CMD ["notifier", "run"]
