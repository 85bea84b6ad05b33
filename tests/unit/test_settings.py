"""Settings: sources and their priority, and one-line errors that name the field."""

from pathlib import Path

import pytest

from hotline.settings import DemoSettings, Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("HOTLINE_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hotline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_listen_on_loopback_standard_ports() -> None:
    settings = load_settings()
    assert (settings.sip.host, settings.sip.udp_port, settings.sip.tcp_port) == (
        "127.0.0.1",
        5060,
        5060,
    )
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8080)
    assert settings.log.format == "json"
    assert not settings.demo


def test_demo_defaults() -> None:
    settings = load_settings(base=DemoSettings)
    assert settings.demo
    assert settings.data_dir == Path("var/demo")
    assert settings.log.format == "console"


def test_yaml_file_then_environment_then_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(
        tmp_path,
        "node_name: pbx-a\nsip:\n  udp_port: 5070\n  tcp_port: 5071\nhttp:\n  port: 9000\n",
    )
    monkeypatch.setenv("HOTLINE_SIP__TCP_PORT", "5072")
    monkeypatch.setenv("HOTLINE_HTTP__PORT", "9001")
    settings = load_settings(config, http={"port": 9002})
    assert settings.node_name == "pbx-a"  # from the file
    assert settings.sip.udp_port == 5070  # from the file, nested field kept
    assert settings.sip.tcp_port == 5072  # environment beats file
    assert settings.http.port == 9002  # command line beats environment


def test_database_url_defaults_to_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    other = load_settings(database_url="postgresql+asyncpg://db/hotline")
    assert other.effective_database_url == "postgresql+asyncpg://db/hotline"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sip:\n  udp_port: 70000\n", "sip.udp_port: Input should be less than or equal to 65535"),
        ("sip:\n  udp_port: five\n", "sip.udp_port: Input should be a valid integer"),
        ("sip:\n  udpport: 5060\n", "sip.udpport: unknown setting"),
        ("log:\n  level: LOUD\n", "log.level: Input should be 'DEBUG', 'INFO'"),
        ("node_name: ''\n", "node_name: String should have at least 1 character"),
        ("- just\n- a list\n", "must hold a mapping of settings, not a list"),
        ("sip: [unclosed\n", "is not valid YAML at line 2, column 1"),
    ],
)
def test_bad_file_gives_one_line_naming_the_field(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(write(tmp_path, text))
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_bad_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_HTTP__PORT", "-1")
    with pytest.raises(SettingsError, match=r"http\.port: Input should be greater than or equal"):
        load_settings()


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"cannot read settings file .*No such file"):
        load_settings(tmp_path / "absent.yaml")


def test_demo_refuses_public_address_unless_allowed() -> None:
    with pytest.raises(SettingsError, match=r"http\.host='0\.0\.0\.0' is not a loopback address"):
        load_settings(base=DemoSettings, http={"host": "0.0.0.0"})
    allowed = load_settings(base=DemoSettings, http={"host": "0.0.0.0"}, allow_public_bind=True)
    assert allowed.http.host == "0.0.0.0"
    # A production node may bind anywhere.
    assert load_settings(http={"host": "0.0.0.0"}).http.host == "0.0.0.0"


def test_settings_are_immutable() -> None:
    settings: Settings = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.node_name = "x"  # type: ignore[misc]


def test_trunks_and_groups_come_from_the_file_and_groups_name_known_trunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text(
        "trunks:\n"
        "  - {name: telecom, host: 198.51.100.1, username: acct, password: pw}\n"
        "  - {name: unicom, host: 198.51.100.2, max_channels: 30}\n"
        "trunk_groups:\n"
        "  - {name: out, strategy: least_used, trunks: [telecom, unicom]}\n"
        "numbering: {region: CN, area_code: '21'}\n"
    )
    settings = load_settings(path)
    assert [t.name for t in settings.trunks] == ["telecom", "unicom"]
    assert settings.trunks[0].password is not None
    assert settings.trunks[0].password.get_secret_value() == "pw"
    assert "pw" not in repr(settings.trunks[0])
    assert settings.trunk_groups[0].strategy == "least_used"
    assert settings.numbering.area_code == "21"
    monkeypatch.setenv("HOTLINE_TRUNK_GROUPS", '[{"name": "out", "trunks": ["mobile"]}]')
    with pytest.raises(SettingsError) as error:
        load_settings(path)
    assert str(error.value) == f"invalid {path}: settings: trunk_groups.0.trunks: no trunk 'mobile'"


def test_external_transfer_rules_come_from_the_file() -> None:
    # The group is named, not checked here: groups may also come from the database.
    settings = Settings.model_validate(
        {"external_transfer": {"trunk_group": "out", "allowed_prefixes": ["+852"]}}
    )
    assert settings.external_transfer.trunk_group == "out"
    assert settings.external_transfer.allowed_prefixes == ("+852",)
    assert settings.external_transfer.allow_international is False  # toll fraud: off
    with pytest.raises(ValueError, match="extra"):
        Settings.model_validate({"external_transfer": {"allow_everything": True}})
