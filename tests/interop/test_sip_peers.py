"""Our SIP stack against real peers: SIPp (load, TCP, OPTIONS, a UAC that drops our first
2xx) and baresip (digest REGISTER with right and wrong passwords, a call to our UAS).

The service under test runs in this process on its own event loop thread, bound to port 0;
the peers run as subprocesses with bounded call counts and timeouts.
"""

from __future__ import annotations

import asyncio
import csv
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvloop

from hotline.sip.auth import make_ha1s
from hotline.transport.sip_service import SipService, SipServiceConfig
from tests.conftest import HotlineProcess
from tests.interop.conftest import require_peer
from tests.support.baresip import Baresip, free_port_pair

pytestmark = pytest.mark.interop

SCENARIOS = Path(__file__).parents[1] / "fixtures" / "sip" / "sipp"
REALM = "hotline"


class RunningService:
    """A SipService on a private uvloop in a daemon thread."""

    def __init__(self, config: SipServiceConfig) -> None:
        self.service = SipService(config)
        self.loop = uvloop.new_event_loop()
        self.ready = threading.Event()
        self.addresses: dict[str, tuple[str, int]] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "SIP service did not start"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self.addresses = await self.service.start()
            self.ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def stats(self) -> dict[str, int]:
        async def copy() -> dict[str, int]:
            return dict(self.service.agent.stats)

        return asyncio.run_coroutine_threadsafe(copy(), self.loop).result(5)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.service.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def port(self, transport: str) -> int:
        return self.addresses[transport][1]


@pytest.fixture
def sip_service(tmp_path: Path) -> Iterator[RunningService]:
    running = RunningService(
        SipServiceConfig(
            users={"alice": make_ha1s("alice", REALM, "wonderland")},
            realm=REALM,
            nonce_secret=b"interop",
            bindings_file=tmp_path / "bindings.json",
        )
    )
    yield running
    running.stop()


def run_sipp(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    sipp = require_peer("sipp")
    return subprocess.run(
        [sipp, *args, "-i", "127.0.0.1", "-p", "0", "-nostdin", "-timeout", f"{int(timeout)}s"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout + 15,
        check=False,
    )


def successful_calls(output: str) -> tuple[int, int]:
    ok = re.findall(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", output)
    failed = re.findall(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", output)
    return int(ok[-1]), int(failed[-1])


def test_sipp_uac_500_calls_at_50_cps_over_udp(sip_service: RunningService, tmp_path: Path) -> None:
    target = f"127.0.0.1:{sip_service.port('UDP')}"
    result = run_sipp(
        ["-sn", "uac", target, "-r", "50", "-m", "500", "-l", "200", "-d", "500"], tmp_path, 120
    )
    assert successful_calls(result.stdout) == (500, 0), result.stdout[-2000:]
    assert result.returncode == 0
    stats = sip_service.stats()
    # Every call was established: by its ACK, or (an ACK lost on a loaded machine) by the
    # caller's BYE, which proves it had our 200.
    assert stats["calls.confirmed"] + stats.get("calls.confirmed_by_bye", 0) == 500, stats
    assert stats["bye.200"] == 500


def test_sipp_uac_over_tcp(sip_service: RunningService, tmp_path: Path) -> None:
    target = f"127.0.0.1:{sip_service.port('TCP')}"
    result = run_sipp(
        ["-sn", "uac", target, "-t", "t1", "-r", "20", "-m", "100", "-d", "200"], tmp_path, 40
    )
    assert successful_calls(result.stdout) == (100, 0), result.stdout[-2000:]
    assert result.returncode == 0
    assert sip_service.stats()["calls.confirmed"] == 100


def test_sipp_options_ping(sip_service: RunningService, tmp_path: Path) -> None:
    target = f"127.0.0.1:{sip_service.port('UDP')}"
    scenario = str(SCENARIOS / "options.xml")
    result = run_sipp(["-sf", scenario, target, "-r", "10", "-m", "10"], tmp_path, 20)
    assert successful_calls(result.stdout) == (10, 0), result.stdout[-2000:]
    assert sip_service.stats()["request.OPTIONS"] == 10


def test_uas_retransmits_2xx_until_the_ack(sip_service: RunningService, tmp_path: Path) -> None:
    target = f"127.0.0.1:{sip_service.port('UDP')}"
    scenario = str(SCENARIOS / "uac_ignore_first_2xx.xml")
    result = run_sipp(
        ["-sf", scenario, target, "-r", "5", "-m", "5", "-trace_counts"], tmp_path, 30
    )
    assert successful_calls(result.stdout) == (5, 0), result.stdout[-2000:]
    [counts_file] = tmp_path.glob("*_counts.csv")
    rows = list(csv.DictReader(counts_file.read_text().splitlines(), delimiter=";"))
    # One retransmission per call arrives inside SIPp's 1.2 s pause (at T1 = 0.5 s); the
    # next would be due at 1.5 s, after the ACK, so none follows.
    assert int(rows[-1]["2_200_Retrans"]) == 5
    assert sip_service.stats()["calls.confirmed"] == 5


# -- baresip ---------------------------------------------------------------------------------
def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def account(port: int, password: str) -> str:
    # The account's domain is our node, so REGISTER goes straight to it.
    return (
        f"<sip:alice@127.0.0.1:{port}>;auth_pass={password};regint=60;"
        "answermode=manual;audio_codecs=PCMU"
    )


def test_baresip_registers_with_digest_and_calls_our_uas(
    sip_service: RunningService, tmp_path: Path
) -> None:
    port = sip_service.port("UDP")
    phone = Baresip(tmp_path / "alice", account(port, "wonderland"))
    try:
        assert wait_for(lambda: sip_service.stats().get("register.200", 0) >= 1), phone.stop()
        stats = sip_service.stats()
        assert stats.get("register.401", 0) >= 1  # challenged first, then accepted
        bindings = sip_service.service.registrar.lookup("sip:alice@127.0.0.1", time.time())
        assert len(bindings) == 1
        assert f":{phone.sip_port}" in bindings[0].contact
        phone.command("dial", f"sip:hotline@127.0.0.1:{port}")
        confirmed = wait_for(lambda: sip_service.stats().get("calls.confirmed", 0) >= 1)
        assert confirmed, (sip_service.stats(), phone.stop())
        phone.command("hangup")
        ended = wait_for(lambda: sip_service.stats().get("bye.200", 0) >= 1)
        assert ended, (sip_service.stats(), phone.stop())
    finally:
        phone.stop()


def test_baresip_with_wrong_password_is_refused(
    sip_service: RunningService, tmp_path: Path
) -> None:
    port = sip_service.port("UDP")
    phone = Baresip(tmp_path / "mallory", account(port, "not-the-password"))
    try:
        assert wait_for(lambda: sip_service.stats().get("register.401", 0) >= 2), phone.stop()
        time.sleep(0.5)
        assert sip_service.stats().get("register.200", 0) == 0
        assert sip_service.service.registrar.lookup("sip:alice@127.0.0.1", time.time()) == []
    finally:
        output = phone.stop()
    assert "401" in output or "Unauthorized" in output


def test_demo_node_answers_sipp_over_udp_and_tcp(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    """`hotline demo` as an operator runs it: SIP listening is logged and SIPp gets answers."""
    demo = run_hotline(
        ["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(tmp_path / "data")]
    )
    ports = {}
    for _ in range(3):
        line = demo.wait_for("sip listening")
        match = re.search(r"address=127\.0\.0\.1:(\d+) transport=(udp|tcp|tls)", line)
        assert match is not None, line
        ports[match.group(2)] = match.group(1)
    demo.wait_for("hotline ready")
    # SIP over TLS too (self-signed certificate made on first start; SIPp here has no TLS).
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    options = (
        f"OPTIONS sip:4000@127.0.0.1:{ports['tls']};transport=tls SIP/2.0\r\n"
        "Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bKtls1\r\n"
        "From: <sip:probe@127.0.0.1>;tag=t\r\nTo: <sip:4000@127.0.0.1>\r\n"
        "Call-ID: tls-probe\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    raw = socket.create_connection(("127.0.0.1", int(ports["tls"])), timeout=5)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.version() == "TLSv1.3"
        tls.sendall(options.encode())
        assert tls.recv(4096).startswith(b"SIP/2.0 200")
    scenario = str(SCENARIOS / "options.xml")
    udp = run_sipp(["-sf", scenario, f"127.0.0.1:{ports['udp']}", "-m", "3"], tmp_path, 20)
    assert successful_calls(udp.stdout) == (3, 0), udp.stdout[-2000:]
    # Calls to the hotline number are answered by the demo IVR (and hung up by SIPp).
    tcp = run_sipp(
        ["-sn", "uac", "-s", "4000", f"127.0.0.1:{ports['tcp']}", "-t", "t1", "-m", "5", "-r", "5"],
        tmp_path,
        20,
    )
    assert successful_calls(tcp.stdout) == (5, 0), tcp.stdout[-2000:]
    assert demo.terminate() == 0


# -- our UAC against SIPp's UAS ----------------------------------------------------------------
def test_our_uac_calls_sipp_uas_and_hangs_up(tmp_path: Path) -> None:
    """Client transactions, the ACK of a 2xx and an in-dialog BYE against a real UAS."""
    sipp_port = free_port_pair()
    uas = subprocess.Popen(
        [
            require_peer("sipp"),
            *["-sn", "uas", "-i", "127.0.0.1", "-p", str(sipp_port)],
            *["-m", "1", "-nostdin", "-timeout", "20s"],
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    outcome: dict[str, object] = {}

    async def call() -> None:
        from hotline.sip.dialog import Dialog
        from hotline.sip.endpoint import SipEndpoint
        from hotline.sip.events import Event, ResponseReceived
        from hotline.sip.message import Request
        from hotline.sip.uri import Uri
        from hotline.transport.sip_transport import SipStack

        done = asyncio.Event()
        endpoint = SipEndpoint(sent_by={})
        state: dict[str, object] = {}
        destination = ("127.0.0.1", sipp_port)

        def handle(event: Event, now: float) -> None:
            if not isinstance(event, ResponseReceived):
                return
            response = event.response
            statuses = outcome.setdefault("statuses", [])
            assert isinstance(statuses, list)
            statuses.append(f"{response.status} {response.cseq.method}")
            if response.cseq.method == "INVITE" and response.status == 200:
                invite = state["invite"]
                assert isinstance(invite, Request)
                dialog = Dialog.for_uac(invite, response)
                state["dialog"] = dialog
                endpoint.send_ack(dialog.ack_for(response), destination, "UDP")
                bye = dialog.create_request("BYE")
                target = dialog.remote_target
                endpoint.send_request(bye, (target.host, target.port or 5060), "UDP", now)
            elif response.cseq.method == "BYE" and response.status >= 200:
                done.set()

        stack = SipStack(endpoint, handle)
        host, port = await stack.listen_udp("127.0.0.1", 0)
        endpoint.sent_by["UDP"] = (host, port)
        body = (
            b"v=0\r\no=hotline 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            b"m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
        )
        invite = Request(
            headers=[
                ("From", f"<sip:hotline@{host}:{port}>;tag=uac1"),
                ("To", f"<sip:agent@127.0.0.1:{sipp_port}>"),
                ("Call-ID", "uac-call-1"),
                ("CSeq", "1 INVITE"),
                ("Contact", f"<sip:hotline@{host}:{port}>"),
                ("Max-Forwards", "70"),
                ("Content-Type", "application/sdp"),
            ],
            body=body,
            method="INVITE",
            uri=Uri.parse(f"sip:agent@127.0.0.1:{sipp_port}"),
        )
        state["invite"] = invite
        await asyncio.sleep(0.3)  # let SIPp bind its port
        endpoint.send_request(invite, destination, "UDP", stack.clock())
        stack.process()
        try:
            await asyncio.wait_for(done.wait(), 15)
        finally:
            stack.close()

    errors: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(call())
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=main)
    thread.start()
    thread.join(25)
    try:
        output, _ = uas.communicate(timeout=25)
    finally:
        if uas.poll() is None:
            uas.kill()
    assert not errors, (errors, output[-2000:])
    statuses = outcome["statuses"]
    assert isinstance(statuses, list)
    assert "200 INVITE" in statuses
    assert statuses[-1] == "200 BYE"
    assert uas.returncode == 0, output[-2000:]
    assert successful_calls(output) == (1, 0)


def test_sip_port_in_use_stops_the_node_with_a_clear_message(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        node = run_hotline(
            ["demo", "--http-port", "0", "--sip-port", str(port), "--data-dir", str(tmp_path)]
        )
        assert node.proc.wait(timeout=120) == 1  # a demo start on a loaded CI machine
    assert f"cannot listen on udp:127.0.0.1:{port}: Address already in use" in node.drain()


def test_baresip_registers_over_tls_verifying_our_self_signed_certificate(
    tmp_path: Path,
) -> None:
    cert, key = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    running = RunningService(
        SipServiceConfig(
            tls_port=0,
            tls_cert=cert,
            tls_key=key,
            users={"alice": make_ha1s("alice", REALM, "wonderland")},
            realm=REALM,
            nonce_secret=b"interop",
        )
    )
    try:
        port = running.port("TLS")
        account = (
            f"<sip:alice@127.0.0.1:{port};transport=tls>;auth_pass=wonderland;regint=60;"
            "audio_codecs=PCMU"
        )
        phone = Baresip(tmp_path / "alice", account, extra=(f"sip_cafile {cert}",))
        try:
            registered = wait_for(lambda: running.stats().get("register.200", 0) >= 1)
            assert registered, (running.stats(), phone.stop())
            [binding] = running.service.registrar.lookup("sip:alice@127.0.0.1", time.time())
            assert binding.source is not None
            assert binding.source.startswith("TLS:")
        finally:
            output = phone.stop()  # baresip un-registers on the way out
        assert "{0/TLS/v4} 200 OK" in output
    finally:
        running.stop()
