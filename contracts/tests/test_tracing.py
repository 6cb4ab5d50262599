"""Tracing is on when an OTLP endpoint is set, unless the SDK is disabled."""

import pytest

from notices_contracts.tracing import service_name, tracing_requested

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
OTEL_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
)


@pytest.fixture
def otel_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("env", "requested"),
    [
        ({}, False),
        (ENDPOINT, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": " "}, False),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "true"}, False),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "TRUE"}, False),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "false"}, True),
    ],
)
def test_tracing_is_requested_by_an_otlp_endpoint_unless_the_sdk_is_disabled(
    otel_env: pytest.MonkeyPatch, env: dict[str, str], requested: bool
) -> None:
    for name, value in env.items():
        otel_env.setenv(name, value)
    assert tracing_requested() is requested


def test_the_service_name_is_otel_service_name_else_the_default(
    otel_env: pytest.MonkeyPatch,
) -> None:
    assert service_name("notifier") == "notifier"
    otel_env.setenv("OTEL_SERVICE_NAME", "notifier-eu")
    assert service_name("notifier") == "notifier-eu"
