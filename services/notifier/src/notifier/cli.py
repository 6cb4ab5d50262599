"""The ``notifier`` command: run, migrate, prune, and the dead-letter tools."""

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from notices_contracts.heap import freeze_startup_heap
from notifier.app import build_notifier, serve
from notifier.dlq import list_dead_letters, replay_dead_letters
from notifier.logging import configure_logging
from notifier.progress import progress_bar
from notifier.settings import Settings
from notifier.store.db import (
    MigrationReport,
    create_engine,
    create_session_factory,
    migrate,
    pending_revisions,
)
from notifier.store.retention import PruneReport, prune
from notifier.telemetry import configure_tracing
from notifier.topology import build_topology
from notifier.topology import definitions as topology_definitions

cli = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
dlq_cli = typer.Typer(no_args_is_help=True, help="Inspect and re-drive dead letters.")
cli.add_typer(dlq_cli, name="dlq")


def _settings() -> Settings:
    settings = Settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    return settings


@cli.command()
def run() -> None:
    """Consume events, dispatch deliveries and serve the HTTP API in one process."""
    settings = _settings()
    configure_tracing()
    notifier = build_notifier(settings)
    freeze_startup_heap()
    asyncio.run(serve(notifier))


@cli.command("migrate")
def migrate_command(
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="change nothing: exit 0 when the schema is at the newest revision, else 1",
        ),
    ] = False,
) -> None:
    """Upgrade the database schema to the newest revision (Alembic)."""
    settings = _settings()
    if check:
        _check_migrated(settings)
        return

    async def go() -> MigrationReport:
        engine = create_engine(settings.database_url)
        try:
            return await migrate(engine)
        finally:
            await engine.dispose()

    report = asyncio.run(go())
    if report.adopted:
        typer.echo("taken over a database of the create-only migrate")
    for revision in report.applied:
        typer.echo(f"applied {revision}")
    if not report.applied:
        typer.echo("schema up to date")


def _check_migrated(settings: Settings) -> None:
    """What pods wait on before they start (deploy/k8s): never migrates."""

    async def go() -> tuple[str, ...]:
        engine = create_engine(settings.database_url)
        try:
            return await pending_revisions(engine)
        finally:
            await engine.dispose()

    pending = asyncio.run(go())
    if pending:
        typer.echo(f"revisions not applied: {' '.join(pending)}")
        raise typer.Exit(1)
    typer.echo("schema up to date")


@cli.command("prune")
def prune_command() -> None:
    """Delete what is past its retention (NOTIFIER_RETENTION_*), in batches; run it daily."""
    settings = _settings()

    async def go() -> PruneReport:
        engine = create_engine(settings.database_url)
        try:
            return await prune(
                create_session_factory(engine), policy=settings.retention, now=datetime.now(UTC)
            )
        finally:
            await engine.dispose()

    typer.echo(json.dumps(asyncio.run(go()).deleted))


@cli.command()
def definitions() -> None:
    """Print the RabbitMQ definitions of this topology (deploy/rabbitmq/definitions.json)."""
    settings = _settings()
    typer.echo(json.dumps(topology_definitions(build_topology(settings)), indent=2))


@dlq_cli.command("list")
def dlq_list() -> None:
    """Print every dead letter (JSON lines) and leave them in the queue."""
    settings = _settings()

    async def print_each() -> None:
        topology = build_topology(settings)
        async for letter in list_dead_letters(amqp_url=settings.amqp_url, topology=topology):
            typer.echo(
                json.dumps(
                    {
                        "message_id": letter.message_id,
                        "reason": letter.reason,
                        "error": letter.error,
                        "routing_key": letter.routing_key,
                        "body": letter.body.decode(errors="replace"),
                    }
                )
            )

    asyncio.run(print_each())


@dlq_cli.command("replay")
def dlq_replay(
    message_id: Annotated[str | None, typer.Argument(help="message id to replay")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="replay every dead letter")] = False,
    progress: Annotated[
        bool, typer.Option("--progress", help="show the progress bar without a terminal")
    ] = False,
) -> None:
    """Publish dead letters back onto the main queue."""
    if (message_id is None) == (not replay_all):
        raise typer.BadParameter("give either a message id or --all")
    settings = _settings()
    with progress_bar(description="dead letters", forced=progress) as report:
        replayed = asyncio.run(
            replay_dead_letters(
                amqp_url=settings.amqp_url,
                topology=build_topology(settings),
                message_id=None if replay_all else message_id,
                progress=report,
            )
        )
    typer.echo(f"replayed {len(replayed)}: {' '.join(replayed)}")
    if message_id is not None and not replayed:
        raise typer.Exit(1)


def main() -> None:
    cli()
