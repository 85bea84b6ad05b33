"""The ``hotline`` command: ``demo`` for a try-out node, ``serve`` for production.

The CLI's only jobs are to turn flags into settings, set up logging, run the node in a
uvloop event loop and map failures to exit codes: 2 for bad settings, 1 for a node that
could not start, 0 for a clean stop on SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click
import uvloop

from hotline import __version__
from hotline.api.services.users import UserError, create_user_directly
from hotline.app import Node, NodeStartError
from hotline.logging_config import configure_logging
from hotline.settings import DemoSettings, Settings, SettingsError, load_settings
from hotline.store.database import Database, DatabaseNotMigratedError
from hotline.store.models import Role

log = logging.getLogger(__name__)

EXIT_START_FAILED = 1
EXIT_BAD_SETTINGS = 2

_port = click.IntRange(0, 65535)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hotline")
def main() -> None:
    """Hotline: telephone customer-service platform."""


@main.command()
@click.option(
    "--sip-port", type=_port, help="SIP port for UDP and TCP, TLS on the next [default: 5060]"
)
@click.option("--http-port", type=_port, help="HTTP port [default: 8080]")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="where the demo keeps its data [default: ./var/demo]",
)
def demo(sip_port: int | None, http_port: int | None, data_dir: Path | None) -> None:
    """Run a demo hotline on 127.0.0.1 with embedded defaults."""
    overrides: dict[str, Any] = {}
    if sip_port is not None:
        # TLS on the next port (or any free port when the OS picks the others).
        tls_port = 0 if sip_port == 0 else sip_port + 1
        overrides["sip"] = {
            "udp_port": sip_port,
            "tcp_port": sip_port,
            "tls_port": tls_port,
            "tls_enabled": True,
        }
    if http_port is not None:
        overrides["http"] = {"port": http_port}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    _run(_settings_or_exit(None, DemoSettings, overrides))


@main.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML settings file; HOTLINE_* environment variables override it",
)
def serve(config_file: Path | None) -> None:
    """Run a production node from a settings file and the environment."""
    _run(_settings_or_exit(config_file, Settings, {}))


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML settings file; HOTLINE_* environment variables override it",
)
def upgrade(config_file: Path | None) -> None:
    """Create or migrate the database schema to this version of Hotline."""
    settings = _settings_or_exit(config_file, Settings, {})
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        click.echo(f"hotline: cannot create data directory {settings.data_dir}: {error}", err=True)
        sys.exit(EXIT_START_FAILED)

    async def run() -> tuple[str, str | None, str | None]:
        database = Database(settings.effective_database_url)
        try:
            before = await database.current_revision()
            await database.upgrade()
            return database.safe_url, before, await database.current_revision()
        finally:
            await database.close()

    try:
        url, before, after = asyncio.run(run())
    except Exception as error:
        click.echo(f"hotline: database upgrade failed: {error}", err=True)
        sys.exit(EXIT_START_FAILED)
    if before == after:
        click.echo(f"{url}: already at schema {after}")
    else:
        click.echo(f"{url}: upgraded schema {before or '(empty)'} -> {after}")


@main.group()
def user() -> None:
    """Manage users (the first admin of a production node is created here)."""


@user.command("create")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--username", required=True)
@click.option("--role", type=click.Choice([role.value for role in Role]), default=Role.ADMIN.value)
@click.option("--department-id", type=int, default=None)
@click.password_option(
    envvar="HOTLINE_NEW_PASSWORD", help="read from the terminal (twice) or HOTLINE_NEW_PASSWORD"
)
def create_user(
    config_file: Path | None,
    username: str,
    role: str,
    department_id: int | None,
    password: str,
) -> None:
    """Create a user with a password."""
    settings = _settings_or_exit(config_file, Settings, {})

    async def run() -> int:
        database = Database(settings.effective_database_url)
        try:
            await database.check_migrated()
            return await create_user_directly(
                database, username, password, Role(role), department_id
            )
        finally:
            await database.close()

    try:
        user_id = asyncio.run(run())
    except (DatabaseNotMigratedError, UserError) as error:
        click.echo(f"hotline: {error}", err=True)
        sys.exit(EXIT_START_FAILED)
    click.echo(f"user {username} created with id {user_id}")


def _settings_or_exit(
    config_file: Path | None, base: type[Settings], overrides: dict[str, Any]
) -> Settings:
    try:
        return load_settings(config_file, base=base, **overrides)
    except SettingsError as error:
        click.echo(f"hotline: {error}", err=True)
        sys.exit(EXIT_BAD_SETTINGS)


def _run(settings: Settings) -> None:
    configure_logging(settings.log.format, settings.log.level)
    try:
        uvloop.run(_run_until_signalled(Node(settings)))
    except NodeStartError as error:
        log.error("hotline could not start: %s", error)
        sys.exit(EXIT_START_FAILED)


async def _run_until_signalled(node: Node) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await node.run(stop)
