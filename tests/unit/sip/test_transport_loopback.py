"""One loopback test per asyncio adapter (UDP, TCP, TLS): bytes in, the UA's answer out,
CRLF keep-alive pong on streams, and a malformed datagram answered with 400.

Each test runs its loop in a thread of its own: a session-scoped Playwright fixture of the
interop suite keeps a loop running in the main thread for the rest of the session.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from hotline.sip.message import Response, parse_message
from hotline.transport.sip_service import SipService, SipServiceConfig

OPTIONS = (
    "OPTIONS sip:hotline@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/{transport} 127.0.0.1:9;branch=z9hG4bKloop;rport\r\n"
    "From: <sip:probe@127.0.0.1>;tag=p\r\n"
    "To: <sip:hotline@127.0.0.1>\r\n"
    "Call-ID: loop-{transport}\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n"
)


def in_thread(test: Callable[[Path], Awaitable[None]], tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(test(tmp_path))  # type: ignore[arg-type]
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=main)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


async def started(tmp_path: Path, tls: bool = False) -> SipService:
    service = SipService(
        SipServiceConfig(
            tls_port=0 if tls else None,
            tls_cert=tmp_path / "cert.pem",
            tls_key=tmp_path / "key.pem",
        )
    )
    await service.start()
    return service


def test_udp_loopback(tmp_path: Path) -> None:
    in_thread(_udp_loopback, tmp_path)


async def _udp_loopback(tmp_path: Path) -> None:
    service = await started(tmp_path)
    loop = asyncio.get_running_loop()
    received: asyncio.Queue[bytes] = asyncio.Queue()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            received.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(
        Client, remote_addr=service.stack.addresses["UDP"]
    )
    try:
        transport.sendto(OPTIONS.format(transport="UDP").encode())
        response = parse_message(await asyncio.wait_for(received.get(), 5))
        assert isinstance(response, Response)
        assert response.status == 200
        assert response.top_via.rport == transport.get_extra_info("sockname")[1]
        transport.sendto(OPTIONS.format(transport="UDP").replace("1 OPTIONS", "x").encode())
        bad = await asyncio.wait_for(received.get(), 5)
        assert bad.startswith(b"SIP/2.0 400 Bad CSeq")
    finally:
        transport.close()
        service.stop()


async def stream_exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str
) -> None:
    writer.write(b"\r\n\r\n")  # keep-alive ping first
    writer.write(OPTIONS.format(transport=name).encode())
    await writer.drain()
    assert await asyncio.wait_for(reader.readexactly(2), 5) == b"\r\n"
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    response = parse_message(head)
    assert isinstance(response, Response)
    assert response.status == 200
    assert response.call_id == f"loop-{name}"


def test_tcp_loopback(tmp_path: Path) -> None:
    in_thread(_tcp_loopback, tmp_path)


async def _tcp_loopback(tmp_path: Path) -> None:
    service = await started(tmp_path)
    host, port = service.stack.addresses["TCP"]
    reader, writer = await asyncio.open_connection(host, port)
    try:
        await stream_exchange(reader, writer, "TCP")
    finally:
        writer.close()
        service.stop()


def test_tls_loopback_with_self_signed_certificate(tmp_path: Path) -> None:
    in_thread(_tls_loopback_with_self_signed_certificate, tmp_path)


async def _tls_loopback_with_self_signed_certificate(tmp_path: Path) -> None:
    service = await started(tmp_path, tls=True)
    host, port = service.stack.addresses["TLS"]
    context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    context.check_hostname = False
    reader, writer = await asyncio.open_connection(host, port, ssl=context)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        assert ssl_object.version() == "TLSv1.3"  # preferred when both sides can
        await stream_exchange(reader, writer, "TLS")
    finally:
        writer.close()
        service.stop()
