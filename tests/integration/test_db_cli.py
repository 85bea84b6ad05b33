"""The database and the API as an operator meets them: `hotline db upgrade`, a node that
refuses an unmigrated database, a demo that migrates itself, `hotline user create`, TLS."""

from __future__ import annotations

import os
import re
import ssl
from pathlib import Path

import httpx

from tests.conftest import HotlineProcess
from tests.integration.test_cli_process import run

SECRET = "integration-test-secret-key-0123456789"


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "hotline.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nhttp:\n  port: 0\nsecret_key: {SECRET}\n"
        # Free SIP ports: another node on this machine may hold 5060 (as PEERS.md warns).
        "sip:\n  udp_port: 0\n  tcp_port: 0\n"
        "log:\n  format: console\n"
    )
    return config


def test_serve_refuses_unmigrated_database_naming_the_command(run_hotline, tmp_path) -> None:
    config = write_config(tmp_path)
    node: HotlineProcess = run_hotline(["serve", "--config", str(config)])
    assert node.proc.wait(timeout=30) == 1
    output = node.drain()
    assert "has no schema yet; run `hotline db upgrade`" in output
    assert "http listening" not in output


def test_serve_without_secret_key_is_refused(run_hotline, tmp_path) -> None:
    config = tmp_path / "hotline.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\nhttp:\n  port: 0\n")
    node: HotlineProcess = run_hotline(["serve", "--config", str(config)])
    assert node.proc.wait(timeout=30) == 1
    assert "HOTLINE_SECRET_KEY" in node.drain()


def test_weak_secret_key_is_refused_outside_demo(tmp_path) -> None:
    config = tmp_path / "hotline.yaml"
    config.write_text("secret_key: changethis\n")
    result = run("serve", "--config", str(config))
    assert result.returncode == 2
    assert "secret_key" in result.stderr
    assert "at least 32 characters" in result.stderr


def test_upgrade_then_serve_then_login_with_created_user(run_hotline, tmp_path) -> None:
    config = write_config(tmp_path)
    first = run("db", "upgrade", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert re.search(r"upgraded schema \(empty\) -> \w+", first.stdout)
    again = run("db", "upgrade", "--config", str(config))
    assert "already at schema" in again.stdout
    created = run(
        "user",
        "create",
        "--config",
        str(config),
        "--username",
        "root",
        env={**os.environ, "HOTLINE_NEW_PASSWORD": "a long password"},
    )
    assert created.returncode == 0, created.stderr
    node: HotlineProcess = run_hotline(["serve", "--config", str(config)])
    url = re.search(r"http://127\.0\.0\.1:\d+", node.wait_for("http listening"))
    assert url
    base = url.group(0)
    assert httpx.get(f"{base}/readyz", timeout=5).json()["status"] == "ready"
    with httpx.Client(base_url=base, timeout=5) as client:
        assert client.get("/api/v1/auth/me").status_code == 401
        login = client.post(
            "/api/v1/auth/login", json={"username": "root", "password": "a long password"}
        )
        assert login.status_code == 200, login.text
        assert client.get("/api/v1/auth/me").json()["role"] == "admin"
    assert node.terminate() == 0


def test_demo_migrates_itself_and_prints_its_admin_password(run_hotline, data_dir) -> None:
    demo: HotlineProcess = run_hotline(
        ["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(data_dir)]
    )
    created = re.search(r"demo user created: admin / (\S+)", demo.wait_for("demo user created"))
    assert created
    url = re.search(r"http://127\.0\.0\.1:\d+", demo.wait_for("http listening"))
    assert url
    with httpx.Client(base_url=url.group(0), timeout=5) as client:
        login = client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": created.group(1)}
        )
        assert login.status_code == 200, login.text
        # The demo's directory is seeded once: its four queues, its six agents.
        queues = {q["name"] for q in client.get("/api/v1/queues").json()["items"]}
        assert queues == {"sales", "after-sales", "complaints", "operator"}
        assert len(client.get("/api/v1/agents").json()["items"]) == 6
    assert demo.terminate() == 0
    # A second start keeps the data and does not create another admin.
    again: HotlineProcess = run_hotline(
        ["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(data_dir)]
    )
    again.wait_for("hotline ready")
    assert again.terminate() == 0
    assert "demo user created" not in again.drain()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_is_served_when_configured_and_cookies_are_secure(run_hotline, tmp_path) -> None:
    cert, key = _self_signed(tmp_path)
    config = write_config(tmp_path)
    config.write_text(
        config.read_text().replace(
            "http:\n  port: 0\n",
            f"http:\n  port: 0\n  tls_certfile: {cert}\n  tls_keyfile: {key}\n",
        )
    )
    assert run("db", "upgrade", "--config", str(config)).returncode == 0
    assert (
        run(
            "user",
            "create",
            "--config",
            str(config),
            "--username",
            "root",
            env={**os.environ, "HOTLINE_NEW_PASSWORD": "a long password"},
        ).returncode
        == 0
    )
    node: HotlineProcess = run_hotline(["serve", "--config", str(config)])
    url = re.search(r"https://127\.0\.0\.1:\d+", node.wait_for("http listening"))
    assert url
    trust = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(base_url=url.group(0), verify=trust, timeout=5) as client:
        assert client.get("/healthz").status_code == 200
        login = client.post(
            "/api/v1/auth/login", json={"username": "root", "password": "a long password"}
        )
        assert "secure" in login.headers["set-cookie"].lower()
    assert node.terminate() == 0


def test_missing_tls_key_is_a_clear_start_error(run_hotline, tmp_path) -> None:
    config = write_config(tmp_path)
    config.write_text(
        config.read_text().replace(
            "http:\n  port: 0\n",
            f"http:\n  port: 0\n  tls_certfile: {tmp_path}/none.pem\n"
            f"  tls_keyfile: {tmp_path}/none.key\n",
        )
    )
    assert run("db", "upgrade", "--config", str(config)).returncode == 0
    node: HotlineProcess = run_hotline(["serve", "--config", str(config)])
    assert node.proc.wait(timeout=30) == 1
    assert "cannot load the TLS certificate or key" in node.drain()
