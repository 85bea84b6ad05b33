"""The trunk service's loopback test: a real SIP service probes a "carrier" (a UDP socket
of the test that answers OPTIONS, then falls silent, then answers again), and the health
changes reach the bus."""

from __future__ import annotations

import asyncio
import time

import pytest

from hotline.calls.events import TrunkHealthChanged
from hotline.calls.trunks import TrunkConfig, TrunkGroupConfig
from hotline.events.bus import EventBus
from hotline.services.trunk_service import TrunkService
from hotline.sip.message import Request, make_response, parse_message
from hotline.transport.sip_service import SipService, SipServiceConfig


class Carrier(asyncio.DatagramProtocol):
    """Answers each OPTIONS with 200 while ``answering``; counts what it got."""

    def __init__(self) -> None:
        self.answering = True
        self.received = 0
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = parse_message(data)
        assert isinstance(request, Request)
        assert request.method == "OPTIONS"
        self.received += 1
        if self.answering and self.transport is not None:
            answer = bytes(make_response(request, 200, to_tag="c"))
            self.transport.sendto(answer, addr)  # type: ignore[attr-defined]


async def test_a_silent_carrier_goes_down_after_down_after_probes_and_comes_back() -> None:
    loop = asyncio.get_running_loop()
    transport, carrier = await loop.create_datagram_endpoint(Carrier, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    sip = SipService(SipServiceConfig(tcp_port=None), on_call_event=lambda event, now: None)
    bus = EventBus()
    changes = bus.subscribe(TrunkHealthChanged, maxsize=10, name="test")
    trunk = TrunkConfig(
        name="telecom",
        host="127.0.0.1",
        port=port,
        probe_interval_s=0.3,
        probe_timeout_s=0.3,
        down_after=2,
        up_after=2,
    )
    idle = TrunkConfig(name="inbound-only", host="192.0.2.9")
    service = TrunkService(
        sip, [trunk, idle], [TrunkGroupConfig(name="out", trunks=("telecom",))], bus, time.time
    )
    # The SIP service hands OPTIONS outcomes to the trunk service, as telephony does.
    sip._on_call_event = lambda event, now: service.options_answered(event, now)  # type: ignore[arg-type]
    await sip.start()
    service.start()
    try:
        async with asyncio.timeout(5):
            for _ in range(100):  # answered probes change nothing: a trunk starts up
                if service.views()[0].last_probe_status == 200 and carrier.received >= 2:
                    break
                await asyncio.sleep(0.05)
            assert service.views()[0].up
            carrier.answering = False
            down = await changes.get()
            assert (down.trunk, down.up) == ("telecom", False)
            assert down.reason == "2 probes failed, last no answer"
            (view, unprobed) = service.views()
            assert (view.up, view.groups, view.probed) == (False, ("out",), True)
            assert (unprobed.name, unprobed.probed, unprobed.up) == ("inbound-only", False, True)
            carrier.answering = True
            up = await changes.get()
            assert (up.trunk, up.up, up.reason) == ("telecom", True, "2 probes answered")
        assert service.groups["out"].order()[0].name == "telecom"
    finally:
        service.stop()
        sip.stop()
        transport.close()


async def test_reconfigure_probes_new_trunks_and_retires_removed_ones_under_live_calls() -> None:
    loop = asyncio.get_running_loop()
    transport, carrier = await loop.create_datagram_endpoint(Carrier, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    sip = SipService(SipServiceConfig(tcp_port=None), on_call_event=lambda event, now: None)
    old = TrunkConfig(name="old", host="192.0.2.7", probe_interval_s=60, max_channels=2)
    service = TrunkService(
        sip, [old], [TrunkGroupConfig(name="out", trunks=("old",))], EventBus(), time.time
    )
    sip._on_call_event = lambda event, now: service.options_answered(event, now)  # type: ignore[arg-type]
    await sip.start()
    service.start()
    try:
        # A call in progress holds a channel of "old".
        held = service.states["old"]
        held.acquire()
        new = TrunkConfig(name="new", host="127.0.0.1", port=port, probe_interval_s=60)
        changed_old = old.model_copy(update={"max_channels": 5})
        service.reconfigure(
            [changed_old, new], [TrunkGroupConfig(name="out", trunks=("new", "old"))]
        )
        # A kept trunk is the same state (its channel in use, its new limit).
        assert service.states["old"] is held
        assert (held.active_calls, held.config.max_channels) == (1, 5)
        # A new trunk is probed at once, not at the next interval of the others.
        for _ in range(250):
            if carrier.received and service.states["new"].next_probe_at:
                break
            await asyncio.sleep(0.02)
        assert carrier.received, "the new trunk was not probed"
        assert [t.name for t in service.groups["out"].trunks] == ["new", "old"]
        # Removed: out of every group and view, marked down for attempts under way, and the
        # call on it still gives its channel back.
        service.reconfigure([new], [TrunkGroupConfig(name="out", trunks=("new",))])
        assert [t.name for t in service.groups["out"].order()] == ["new"]
        assert [view.name for view in service.views()] == ["new"]
        assert held.up is False
        held.release()
        assert held.active_calls == 0
        # A bad configuration changes nothing.
        with pytest.raises(ValueError, match="ghost"):
            service.reconfigure([new], [TrunkGroupConfig(name="out", trunks=("ghost",))])
        assert [t.name for t in service.groups["out"].trunks] == ["new"]
    finally:
        service.stop()
        sip.stop()
        transport.close()


def test_a_trunk_disabled_and_enabled_again_under_live_calls_keeps_counting_them() -> None:
    sip = SipService(SipServiceConfig(tcp_port=None), on_call_event=lambda event, now: None)
    trunk = TrunkConfig(name="telecom", host="192.0.2.7", max_channels=2)
    groups = [TrunkGroupConfig(name="out", trunks=("telecom",))]
    service = TrunkService(sip, [trunk], groups, EventBus(), time.time)
    held = service.states["telecom"]
    held.acquire()
    held.acquire()  # two calls in progress fill its channels
    service.reconfigure([], [])  # disabled: the calls go on
    assert held.up is False
    service.reconfigure([trunk], groups)  # enabled again while they talk
    back = service.states["telecom"]
    assert back is held
    assert (back.active_calls, back.up, back.usable) == (2, True, False)
    back.release()  # a call ends: one channel free again, not three
    assert back.usable
    # A trunk that left with no call on it starts afresh when it comes back.
    back.release()
    service.reconfigure([], [])
    service.reconfigure([trunk], groups)
    assert service.states["telecom"] is not held
    assert service.states["telecom"].active_calls == 0
