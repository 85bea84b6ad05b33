"""The ``hotline`` command: ``demo`` for a try-out node, ``serve`` for production.

The CLI's only jobs are to turn flags into settings, set up logging, run the node in a
uvloop event loop and map failures to exit codes: 2 for bad settings, 1 for a node that
could not start, 0 for a clean stop on SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import datetime
import json
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
from hotline.dialer.pacing import policy_names
from hotline.dialer.simulation import DialerScenario
from hotline.dialer.simulation import simulate as simulate_dialer
from hotline.logging_config import configure_logging
from hotline.media.speexdsp import SpeexUnavailableError
from hotline.qa.analysis import analyse
from hotline.qa.asr import FasterWhisperEngine
from hotline.qa.audio import RecordingError, read_recording
from hotline.qa.models import ModelNotInstalledError, default_cache_dir, packaged_base_model
from hotline.settings import DemoSettings, Settings, SettingsError, load_settings
from hotline.store.database import Database, DatabaseNotMigratedError
from hotline.store.models import Role
from hotline.store.qa import QaRepository
from hotline.store.types import utcnow

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


@main.group()
def dialer() -> None:
    """Outbound dialer: pacing simulations (campaigns themselves come later)."""


_DIALER_DEFAULTS = DialerScenario()
_positive = click.FloatRange(min=0.0, min_open=True)


@dialer.command("simulate", context_settings={"show_default": True})
@click.option("--agents", type=click.IntRange(min=1), default=_DIALER_DEFAULTS.agents)
@click.option(
    "--answer-rate",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=_DIALER_DEFAULTS.answer_rate,
    help="probability that a dialled contact answers",
)
@click.option("--minutes", type=_positive, default=_DIALER_DEFAULTS.minutes, help="simulated time")
@click.option(
    "--mode",
    type=click.Choice(policy_names(automatic_only=True)),
    default="predictive",
    help="pacing policy",
)
@click.option("--seed", type=int, default=_DIALER_DEFAULTS.seed)
@click.option(
    "--talk-seconds", type=_positive, default=_DIALER_DEFAULTS.talk_seconds, help="mean talk"
)
@click.option(
    "--wrap-seconds", type=_positive, default=_DIALER_DEFAULTS.wrap_seconds, help="mean wrap-up"
)
@click.option(
    "--ring-seconds",
    type=_positive,
    default=_DIALER_DEFAULTS.ring_seconds,
    help="mean ring time of the calls that answer",
)
@click.option("--no-answer-timeout", type=_positive, default=_DIALER_DEFAULTS.no_answer_timeout)
@click.option(
    "--abandon-target",
    type=click.FloatRange(0.0, 1.0, max_open=True),
    default=_DIALER_DEFAULTS.abandon_target,
    help="cap on abandoned / answered calls",
)
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
def simulate_campaign(
    agents: int,
    answer_rate: float,
    minutes: float,
    mode: str,
    seed: int,
    talk_seconds: float,
    wrap_seconds: float,
    ring_seconds: float,
    no_answer_timeout: float,
    abandon_target: float,
    as_json: bool,
) -> None:
    """Run one seeded campaign through a pacing policy and print what it achieved.

    Abandon rate is abandoned / answered calls (abandoned: no agent within 2 s of the
    answer), occupancy is talk / logged-in time, both as fractions; contacts are answered
    calls connected to an agent.
    """
    try:
        scenario = DialerScenario(
            agents=agents,
            answer_rate=answer_rate,
            minutes=minutes,
            seed=seed,
            talk_seconds=talk_seconds,
            wrap_seconds=wrap_seconds,
            ring_seconds=ring_seconds,
            no_answer_timeout=no_answer_timeout,
            abandon_target=abandon_target,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    result = simulate_dialer(scenario, mode)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(
        f"{mode}: {agents} agents, answer rate {answer_rate:.0%}, {minutes:g} min, seed {seed}"
    )
    click.echo(
        f"  abandon rate {result.abandon_rate:.2%} ({result.abandoned} of {result.answered}"
        f" answered, cap {abandon_target:.0%})"
    )
    click.echo(f"  occupancy {result.occupancy:.1%}")
    click.echo(f"  contacts per agent-hour {result.contacts_per_agent_hour:.1f}")
    click.echo(f"  dialled {result.dialled}, {result.lines_per_agent:.2f} lines per agent")


@main.group()
def qa() -> None:
    """Speech analytics: analyse a recording here, or queue analyses again (docs/qa.md)."""


@qa.command("analyze")
@click.argument("wav", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the analysis as JSON")
@click.option(
    "--language",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="the call's language [default: detected]",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="a faster-whisper model directory [default: the packaged Whisper base]",
)
@click.option(
    "--denoise",
    is_flag=True,
    help="speex noise suppression on each channel before transcription (needs libspeexdsp1)",
)
def qa_analyze(
    wav: Path, as_json: bool, language: str | None, model_path: Path | None, denoise: bool
) -> None:
    """Transcribe a stereo (customer left, agent right) or mono WAV per speaker and print
    its metrics, without a running node."""
    try:
        audio = read_recording(wav)
        engine = FasterWhisperEngine(model_path or packaged_base_model(default_cache_dir()))
        engine.load()  # before the clock starts: the figure is the analysis' own
        analysis = analyse(audio, engine, language, denoise=denoise)
    except (
        RecordingError,
        ModelNotInstalledError,
        SpeexUnavailableError,
        FileNotFoundError,
        OSError,
    ) as error:
        click.echo(f"hotline: {error}", err=True)
        sys.exit(EXIT_START_FAILED)
    if as_json:
        click.echo(json.dumps({"file": str(wav), **analysis.to_dict()}, ensure_ascii=False))
        return
    seconds = analysis.audio_seconds
    click.echo(
        f"{wav}: {seconds:.1f} s, language {analysis.language or 'unknown'}, "
        f"{analysis.engine} {analysis.model}, analysed in {analysis.processing_seconds:.1f} s"
        + (f" ({analysis.processing_seconds / seconds:.2f}x real time)" if seconds else "")
    )
    click.echo("")
    for segment in analysis.segments():
        click.echo(f"[{_clock(segment['start'])}] {segment['speaker']}: {segment['text'].strip()}")
    metrics = analysis.metrics
    click.echo("")
    for speaker in metrics.speakers:
        rate = (
            f"{speaker.speech_rate:.0f} {speaker.rate_unit}"
            if speaker.speech_rate is not None
            else "-"
        )
        click.echo(
            f"{speaker.speaker}: talked {speaker.talk_seconds:.1f} s "
            f"({speaker.talk_ratio:.0%} of the talk), speech rate {rate}"
        )
    silence_at = (
        f" at {_clock(metrics.longest_silence_start)}"
        if metrics.longest_silence_start is not None
        else ""
    )
    click.echo(f"longest silence {metrics.longest_silence_seconds:.1f} s{silence_at}")
    click.echo(f"over-talk {metrics.overtalk_seconds:.1f} s ({metrics.overtalk_count} times)")
    _echo_analytics(analysis.analytics)


def _echo_analytics(analytics: dict[str, Any]) -> None:
    """Categories, sentiment, personal data and agitation (docs/qa-analytics.md)."""
    if not analytics:
        return
    click.echo("")
    for entry in analytics.get("categories", []):
        said = ", ".join(
            f"{hit['text']} at {_clock(hit['start'])}" for hit in entry.get("hits", [])
        )
        click.echo(f"category {entry['category']} ({entry['speaker']}): {said}")
    sentiment = analytics.get("sentiment", {})
    for speaker, found in sentiment.items():
        if speaker == "curve":
            continue
        click.echo(
            f"sentiment {speaker}: start {found['start']:+.2f} ({found['label_start']}), "
            f"end {found['end']:+.2f} ({found['label_end']}), overall {found['overall']:+.2f}"
        )
    pii = analytics.get("pii", [])
    kinds = sorted({span["kind"] for span in pii})
    click.echo(f"personal data redacted: {len(pii)}" + (f" ({', '.join(kinds)})" if kinds else ""))
    for speaker, voice in analytics.get("agitation", {}).items():
        pitch = f", pitch {voice['pitch_hz']:.0f} Hz" if voice.get("pitch_hz") else ""
        at = f", from {_clock(voice['raised_at'])}" if voice.get("raised_at") is not None else ""
        click.echo(
            f"agitation {speaker}: {voice['label']} ({voice['score']:.2f}), "
            f"energy {voice['energy_db']:.0f} dBFS{pitch}{at}"
        )


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:04.1f}"


@qa.command("reanalyze")
@click.option(
    "--since",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    help="recordings started since this day or time (UTC)",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML settings file; HOTLINE_* environment variables override it",
)
def qa_reanalyze(since: datetime.datetime, config_file: Path | None) -> None:
    """Queue the analysis of every recording since a date again; the node's QA workers
    pick the jobs up."""
    settings = _settings_or_exit(config_file, Settings, {})
    start = since.replace(tzinfo=datetime.UTC)

    async def run() -> int:
        database = Database(settings.effective_database_url)
        try:
            await database.check_migrated()
            async with database.session() as session:
                queued = await QaRepository(session).requeue_since(start, utcnow())
                await session.commit()
            return queued
        finally:
            await database.close()

    try:
        queued = asyncio.run(run())
    except DatabaseNotMigratedError as error:
        click.echo(f"hotline: {error}", err=True)
        sys.exit(EXIT_START_FAILED)
    click.echo(f"{queued} recordings since {start:%Y-%m-%d %H:%M} UTC queued for analysis")
    if not settings.modules.qa:
        click.echo(
            "note: modules.qa is off in these settings; the jobs wait until a node runs it",
            err=True,
        )


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
