"""Wiring only: settings in, a running consumer + dispatcher + API out."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import structlog
import uvicorn
from fastapi import FastAPI
from faststream.rabbit import Channel as AmqpChannel
from faststream.rabbit import RabbitBroker
from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
from faststream.specification import AsyncAPI
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from notifier import telemetry
from notifier.api import create_api, create_health_api
from notifier.channels.base import EmailChannel, WebhookChannel
from notifier.channels.email import SmtpEmailChannel
from notifier.channels.webhook import HttpxWebhookChannel
from notifier.dispatcher import Dispatcher, DispatchPolicy, utc_now
from notifier.routers.events import EventConsumer, build_events_router
from notifier.settings import Role, Settings
from notifier.store.db import (
    SessionFactory,
    claim_sessions,
    create_claim_engine,
    create_engine,
    create_session_factory,
    is_postgresql_url,
    ping,
    wake_origin,
)
from notifier.store.models import Channel
from notifier.store.wakeups import listen_for_due
from notifier.topology import Topology, build_topology, declare_topology
from notifier.trust import TrustedPublisher

logger = structlog.get_logger("notifier")

SETTLE_ON_STOP_SECONDS = 5.0

Clock = Callable[[], datetime]


@dataclass
class Notifier:
    settings: Settings
    engine: AsyncEngine
    claim_engine: AsyncEngine | None
    session_factory: SessionFactory
    topology: Topology
    broker: RabbitBroker
    consumer: EventConsumer
    dispatcher: Dispatcher
    api: FastAPI
    email: EmailChannel
    webhooks: WebhookChannel


class _EmbeddedServer(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # serve() owns SIGINT/SIGTERM and stops consumer, dispatcher and API together.
        yield


class UnsafeSettingsError(ValueError):
    """A setting that must not be served with; the message names each variable."""


def check_settings(settings: Settings) -> None:
    """Refuse weak secrets where they guard something; warn about deprecated settings."""
    if problems := settings.unsafe_secrets():
        raise UnsafeSettingsError("; ".join(problems))
    if Role.API in settings.roles and not settings.link_signing_keys_value.strip():
        logger.warning(
            "link_signing_keys_unset",
            detail="NOTIFIER_LINK_SIGNING_KEYS is unset: unsubscribe links are signed with "
            "NOTIFIER_API_TOKEN; set NOTIFIER_LINK_SIGNING_KEYS=<new key>,<current token>",
        )
    if settings.smtp_starttls is not None:
        logger.warning(
            "smtp_starttls_deprecated",
            detail="SMTP_STARTTLS is deprecated and read for one release: use SMTP_TLS",
            smtp_tls=settings.effective_smtp_tls.value,
        )


def build_broker(settings: Settings) -> RabbitBroker:
    return RabbitBroker(
        settings.amqp_url,
        # Returned (unroutable) republishes must fail loudly, never vanish.
        default_channel=AmqpChannel(prefetch_count=settings.prefetch, on_return_raises=True),
        log_level=logging.DEBUG,  # one line per message is the consumer's own, with ids
        logger=logging.getLogger("notifier.broker"),  # not FastStream's own stdout handler
        # Consume rate, duration and errors per queue, in the registry /metrics serves.
        middlewares=[
            RabbitPrometheusMiddleware(registry=REGISTRY, app_name="notifier"),
            *telemetry.broker_middlewares(),
        ],
    )


def build_email_channel(settings: Settings) -> EmailChannel:
    return SmtpEmailChannel(
        host=settings.smtp_host,
        port=settings.smtp_port,
        from_address=settings.smtp_from,
        tls=settings.effective_smtp_tls,
        username=settings.smtp_username,
        password=settings.smtp_password,
        connect_timeout_seconds=settings.smtp_timeout_seconds,
        pool_size=settings.email_concurrency,
    )


def build_webhook_channel(settings: Settings) -> WebhookChannel:
    return HttpxWebhookChannel(
        timeout_seconds=settings.webhook_timeout_seconds,
        allow_private_addresses=settings.allow_private_webhooks,
        max_connections=settings.webhook_concurrency,
    )


def dispatch_policy(settings: Settings) -> DispatchPolicy:
    return DispatchPolicy(
        max_attempts=settings.delivery_max_attempts,
        backoff_base_seconds=settings.delivery_backoff_base_seconds,
        backoff_cap_seconds=settings.delivery_backoff_cap_seconds,
        claim_lease_seconds=settings.claim_lease_seconds,
        poll_seconds=settings.dispatch_poll_seconds,
        concurrency={
            Channel.EMAIL: settings.email_concurrency,
            Channel.WEBHOOK: settings.webhook_concurrency,
        },
    )


def build_notifier(
    settings: Settings,
    *,
    email: EmailChannel | None = None,
    webhooks: WebhookChannel | None = None,
    clock: Clock = utc_now,
) -> Notifier:
    check_settings(settings)
    engine = create_engine(settings.database_url)
    telemetry.instrument_engine(engine)
    session_factory = create_session_factory(engine)
    claim_engine = create_claim_engine(settings.database_url)
    if claim_engine is not None:
        telemetry.instrument_engine(claim_engine)
    topology = build_topology(settings)
    broker = build_broker(settings)
    email = email or build_email_channel(settings)
    webhooks = webhooks or build_webhook_channel(settings)
    dispatcher = Dispatcher(
        session_factory=session_factory,
        claim_sessions=claim_sessions(session_factory, claim_engine),
        email=email,
        webhooks=webhooks,
        policy=dispatch_policy(settings),
        public_base_url=settings.public_base_url,
        unsubscribe_secret=settings.link_signing_keys[0],
        preferences_url=settings.preferences_url,
        clock=clock,
    )
    consumer = EventConsumer(
        broker=broker,
        topology=topology,
        session_factory=session_factory,
        trust=TrustedPublisher.of(
            user_id=settings.trusted_publisher_user,
            source=settings.trusted_source,
            amqp_url=settings.amqp_url,
        ),
        clock=clock,
        on_deliveries_created=dispatcher.wake,
        batch_size=settings.consume_batch_size,
    )
    events = build_events_router(topology=topology, consumer=consumer, prefetch=settings.prefetch)
    broker.include_router(events)
    specification = AsyncAPI(broker, title="notifier", version="1", schema_version="3.0.0")

    def asyncapi_document() -> dict[str, Any]:
        return cast(dict[str, Any], specification.to_specification().to_jsonable())

    async def broker_probe() -> None:
        if not await broker.ping(timeout=2.0):
            raise ConnectionError("broker unreachable")

    if Role.API in settings.roles:
        api = create_api(
            session_factory=session_factory,
            api_token=settings.api_token,
            link_signing_keys=settings.link_signing_keys,
            max_request_bytes=settings.max_request_bytes,
            metrics_token=settings.metrics_token,
            metrics_cache_seconds=settings.metrics_cache_seconds,
            broker_probe=broker_probe if Role.CONSUMER in settings.roles else None,
            database_probe=lambda: ping(engine),
            asyncapi_document=asyncapi_document,
            on_ledger_changed=dispatcher.wake,
            clock=clock,
        )
    else:
        api = create_health_api(
            session_factory=session_factory,
            broker_probe=broker_probe if Role.CONSUMER in settings.roles else None,
            database_probe=lambda: ping(engine),
            asyncapi_document=asyncapi_document,
            clock=clock,
            max_request_bytes=settings.max_request_bytes,
            metrics_token=settings.metrics_token,
            metrics_cache_seconds=settings.metrics_cache_seconds,
        )
    return Notifier(
        settings=settings,
        engine=engine,
        claim_engine=claim_engine,
        session_factory=session_factory,
        topology=topology,
        broker=broker,
        consumer=consumer,
        dispatcher=dispatcher,
        api=api,
        email=email,
        webhooks=webhooks,
    )


async def start_consuming(notifier: Notifier) -> None:
    await notifier.broker.connect()
    await declare_topology(notifier.broker, notifier.topology)
    await notifier.broker.start()


async def shutdown(notifier: Notifier) -> None:
    await notifier.consumer.aclose()
    await notifier.broker.stop()
    await notifier.email.aclose()
    await notifier.webhooks.aclose()
    await notifier.engine.dispose()
    if notifier.claim_engine is not None:
        await notifier.claim_engine.dispose()


async def serve(notifier: Notifier) -> None:
    """This process's roles (``NOTIFIER_ROLES``, all three by default) until SIGINT/SIGTERM.

    Every process serves health, readiness and metrics on the API port; the ``/v1``
    API itself only with the ``api`` role (see ``build_notifier``).
    """
    settings, roles = notifier.settings, notifier.settings.roles
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    server = _EmbeddedServer(
        uvicorn.Config(
            notifier.api,
            host=settings.api_host,
            port=settings.api_port,
            log_level="warning",
            log_config=None,  # its loggers write through the root handler (notifier.logging)
            lifespan="off",
        )
    )
    if Role.CONSUMER in roles:
        await start_consuming(notifier)
    tasks = [asyncio.create_task(server.serve(), name="api")]
    background: list[asyncio.Task[None]] = []
    if Role.DISPATCHER in roles:
        background.append(asyncio.create_task(notifier.dispatcher.run(), name="dispatcher"))
        if is_postgresql_url(settings.database_url):
            # Consumers and the API in other processes announce new deliveries.
            background.append(
                asyncio.create_task(
                    listen_for_due(
                        settings.database_url,
                        notifier.dispatcher.wake,
                        own_origin=wake_origin(notifier.session_factory),
                    ),
                    name="wakeups",
                )
            )
    logger.info(
        "notifier_started",
        roles=sorted(role.value for role in roles),
        queue=notifier.topology.queue.name,
        api_port=settings.api_port,
    )
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([*tasks, *background, stopper], return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        if Role.CONSUMER in roles:
            # What was received gets written and acknowledged; the rest goes back to the queue.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(notifier.consumer.settled(), SETTLE_ON_STOP_SECONDS)
            await notifier.broker.stop()
        for task in background:
            task.cancel()
        await asyncio.gather(*tasks, *background, return_exceptions=True)
        stopper.cancel()
        await shutdown(notifier)
        logger.info("notifier_stopped")
