"""The four transaction state machines of RFC 3261 §17, with RFC 6026's Accepted state.

All transitions are in :data:`TRANSITIONS`, one table keyed by (kind, state, stimulus): the
code below only performs each stimulus's side effects (send, arm a timer) and asks the table
where to go. A stimulus the table does not list for a state is absorbed, which is what the
RFC wants for late retransmissions. Timers keep their RFC letters (A to M) and values derive from
T1/T2/T4 (§17.1.1.1 table 4). Over reliable transports nothing is retransmitted and the
waiting timers (D, I, J, K) are zero (§17.1.1.2, §17.2.1).

No clock is read: every method takes ``now``; :meth:`Transaction.next_deadline` tells the
caller when to call :meth:`Transaction.handle_timer`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from hotline.sip.errors import LocalProtocolError
from hotline.sip.message import Request, Response


class Kind(enum.Enum):
    INVITE_CLIENT = "invite client"
    NON_INVITE_CLIENT = "non-INVITE client"
    INVITE_SERVER = "invite server"
    NON_INVITE_SERVER = "non-INVITE server"


class State(enum.Enum):
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class Stimulus(enum.Enum):
    SEND_1XX = "TU sends 1xx"
    SEND_2XX = "TU sends 2xx"
    SEND_FINAL = "TU sends 300-699"
    RECV_REQUEST = "request retransmission"
    RECV_ACK = "ACK"
    RECV_1XX = "1xx received"
    RECV_2XX = "2xx received"
    RECV_FINAL = "300-699 received"
    TRANSPORT_ERROR = "transport error"
    TIMER_A = "Timer A"
    TIMER_B = "Timer B"
    TIMER_D = "Timer D"
    TIMER_E = "Timer E"
    TIMER_F = "Timer F"
    TIMER_G = "Timer G"
    TIMER_H = "Timer H"
    TIMER_I = "Timer I"
    TIMER_J = "Timer J"
    TIMER_K = "Timer K"
    TIMER_L = "Timer L"
    TIMER_M = "Timer M"


K, S, X = Kind, State, Stimulus

#: Every transition of §17.1.1 (fig. 5), §17.1.2 (fig. 6), §17.2.1 (fig. 7), §17.2.2 (fig. 8)
#: as amended by RFC 6026 §7 (Accepted state, Timers L and M). Self-loops are listed when
#: the stimulus has an effect (a retransmission), so that "not in the table" means "absorb".
TRANSITIONS: dict[tuple[Kind, State, Stimulus], State] = {
    # INVITE client (§17.1.1, RFC 6026 §7.2)
    (K.INVITE_CLIENT, S.CALLING, X.TIMER_A): S.CALLING,
    (K.INVITE_CLIENT, S.CALLING, X.TIMER_B): S.TERMINATED,
    (K.INVITE_CLIENT, S.CALLING, X.TRANSPORT_ERROR): S.TERMINATED,
    (K.INVITE_CLIENT, S.CALLING, X.RECV_1XX): S.PROCEEDING,
    (K.INVITE_CLIENT, S.CALLING, X.RECV_2XX): S.ACCEPTED,
    (K.INVITE_CLIENT, S.CALLING, X.RECV_FINAL): S.COMPLETED,
    (K.INVITE_CLIENT, S.PROCEEDING, X.RECV_1XX): S.PROCEEDING,
    (K.INVITE_CLIENT, S.PROCEEDING, X.RECV_2XX): S.ACCEPTED,
    (K.INVITE_CLIENT, S.PROCEEDING, X.RECV_FINAL): S.COMPLETED,
    (K.INVITE_CLIENT, S.COMPLETED, X.RECV_FINAL): S.COMPLETED,
    (K.INVITE_CLIENT, S.COMPLETED, X.TIMER_D): S.TERMINATED,
    (K.INVITE_CLIENT, S.COMPLETED, X.TRANSPORT_ERROR): S.TERMINATED,
    (K.INVITE_CLIENT, S.ACCEPTED, X.RECV_2XX): S.ACCEPTED,
    (K.INVITE_CLIENT, S.ACCEPTED, X.TIMER_M): S.TERMINATED,
    # non-INVITE client (§17.1.2)
    (K.NON_INVITE_CLIENT, S.TRYING, X.TIMER_E): S.TRYING,
    (K.NON_INVITE_CLIENT, S.TRYING, X.TIMER_F): S.TERMINATED,
    (K.NON_INVITE_CLIENT, S.TRYING, X.TRANSPORT_ERROR): S.TERMINATED,
    (K.NON_INVITE_CLIENT, S.TRYING, X.RECV_1XX): S.PROCEEDING,
    (K.NON_INVITE_CLIENT, S.TRYING, X.RECV_2XX): S.COMPLETED,
    (K.NON_INVITE_CLIENT, S.TRYING, X.RECV_FINAL): S.COMPLETED,
    (K.NON_INVITE_CLIENT, S.PROCEEDING, X.TIMER_E): S.PROCEEDING,
    (K.NON_INVITE_CLIENT, S.PROCEEDING, X.TIMER_F): S.TERMINATED,
    (K.NON_INVITE_CLIENT, S.PROCEEDING, X.TRANSPORT_ERROR): S.TERMINATED,
    (K.NON_INVITE_CLIENT, S.PROCEEDING, X.RECV_1XX): S.PROCEEDING,
    (K.NON_INVITE_CLIENT, S.PROCEEDING, X.RECV_2XX): S.COMPLETED,
    (K.NON_INVITE_CLIENT, S.PROCEEDING, X.RECV_FINAL): S.COMPLETED,
    (K.NON_INVITE_CLIENT, S.COMPLETED, X.TIMER_K): S.TERMINATED,
    # INVITE server (§17.2.1, RFC 6026 §7.1)
    (K.INVITE_SERVER, S.PROCEEDING, X.RECV_REQUEST): S.PROCEEDING,
    (K.INVITE_SERVER, S.PROCEEDING, X.SEND_1XX): S.PROCEEDING,
    (K.INVITE_SERVER, S.PROCEEDING, X.SEND_2XX): S.ACCEPTED,
    (K.INVITE_SERVER, S.PROCEEDING, X.SEND_FINAL): S.COMPLETED,
    (K.INVITE_SERVER, S.PROCEEDING, X.TRANSPORT_ERROR): S.TERMINATED,
    (K.INVITE_SERVER, S.COMPLETED, X.RECV_REQUEST): S.COMPLETED,
    (K.INVITE_SERVER, S.COMPLETED, X.TIMER_G): S.COMPLETED,
    (K.INVITE_SERVER, S.COMPLETED, X.RECV_ACK): S.CONFIRMED,
    (K.INVITE_SERVER, S.COMPLETED, X.TIMER_H): S.TERMINATED,
    (K.INVITE_SERVER, S.COMPLETED, X.TRANSPORT_ERROR): S.TERMINATED,
    (K.INVITE_SERVER, S.CONFIRMED, X.TIMER_I): S.TERMINATED,
    (K.INVITE_SERVER, S.ACCEPTED, X.SEND_2XX): S.ACCEPTED,
    (K.INVITE_SERVER, S.ACCEPTED, X.TIMER_L): S.TERMINATED,
    # non-INVITE server (§17.2.2)
    (K.NON_INVITE_SERVER, S.TRYING, X.SEND_1XX): S.PROCEEDING,
    (K.NON_INVITE_SERVER, S.TRYING, X.SEND_2XX): S.COMPLETED,
    (K.NON_INVITE_SERVER, S.TRYING, X.SEND_FINAL): S.COMPLETED,
    (K.NON_INVITE_SERVER, S.PROCEEDING, X.SEND_1XX): S.PROCEEDING,
    (K.NON_INVITE_SERVER, S.PROCEEDING, X.SEND_2XX): S.COMPLETED,
    (K.NON_INVITE_SERVER, S.PROCEEDING, X.SEND_FINAL): S.COMPLETED,
    (K.NON_INVITE_SERVER, S.PROCEEDING, X.RECV_REQUEST): S.PROCEEDING,
    (K.NON_INVITE_SERVER, S.PROCEEDING, X.TRANSPORT_ERROR): S.TERMINATED,
    (K.NON_INVITE_SERVER, S.COMPLETED, X.RECV_REQUEST): S.COMPLETED,
    (K.NON_INVITE_SERVER, S.COMPLETED, X.TIMER_J): S.TERMINATED,
    (K.NON_INVITE_SERVER, S.COMPLETED, X.TRANSPORT_ERROR): S.TERMINATED,
}

INITIAL_STATE = {
    K.INVITE_CLIENT: S.CALLING,
    K.NON_INVITE_CLIENT: S.TRYING,
    K.INVITE_SERVER: S.PROCEEDING,
    K.NON_INVITE_SERVER: S.TRYING,
}


@dataclass(frozen=True)
class TimerValues:
    """T1, T2, T4 of §17.1.1.1 (seconds)."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0


def _stimulus_for_response(status: int, sending: bool) -> Stimulus:
    if status < 200:
        return Stimulus.SEND_1XX if sending else Stimulus.RECV_1XX
    if status < 300:
        return Stimulus.SEND_2XX if sending else Stimulus.RECV_2XX
    return Stimulus.SEND_FINAL if sending else Stimulus.RECV_FINAL


@dataclass
class Transaction:
    """Common machinery: state, the table lookup, named timers and the outbox.

    ``outbox`` holds messages to transmit (to the transaction's peer); ``passed_up`` holds
    responses for the transaction user (client side) and ``timed_out`` is set when Timer B/F
    (or H for a server) fired, so the user can be told.
    """

    kind: Kind
    request: Request
    reliable: bool
    timers: TimerValues = field(default_factory=TimerValues)
    state: State = State.TERMINATED
    deadlines: dict[str, float] = field(default_factory=dict)
    outbox: list[Request | Response] = field(default_factory=list)
    passed_up: list[Response] = field(default_factory=list)
    timed_out: bool = False
    transport_failed: bool = False
    _interval: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state = INITIAL_STATE[self.kind]

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    def next_deadline(self) -> float | None:
        return min(self.deadlines.values(), default=None)

    def _go(self, stimulus: Stimulus) -> bool:
        """Apply the table; False when the stimulus is absorbed in this state."""
        target = TRANSITIONS.get((self.kind, self.state, stimulus))
        if target is None:
            return False
        if target is not self.state:
            self._leave(self.state, target)
            self.state = target
            if target is State.TERMINATED:
                self.deadlines.clear()
        return True

    def _leave(self, state: State, target: State) -> None:
        # Retransmission timers belong to the states they run in: A to Calling, G to
        # Completed, E to Trying and Proceeding.
        if state is State.CALLING:
            self.deadlines.pop("A", None)
        if state is State.COMPLETED:
            self.deadlines.pop("G", None)
        if target in (State.COMPLETED, State.TERMINATED):
            self.deadlines.pop("E", None)

    def _arm(self, name: str, now: float, delay: float) -> None:
        self.deadlines[name] = now + delay

    def handle_timer(self, now: float) -> None:
        for name, deadline in sorted(self.deadlines.items(), key=lambda item: item[1]):
            if deadline <= now and name in self.deadlines:
                del self.deadlines[name]
                self._fire(name, now)

    def transport_error(self) -> None:
        if self._go(Stimulus.TRANSPORT_ERROR):
            self.transport_failed = True

    def _fire(self, name: str, now: float) -> None:
        raise NotImplementedError


@dataclass
class ClientTransaction(Transaction):
    """INVITE (§17.1.1) and non-INVITE (§17.1.2) client transactions.

    Created with the request to send; the request is put in the outbox at once.
    """

    ack: Request | None = None

    @classmethod
    def start(
        cls, request: Request, reliable: bool, now: float, timers: TimerValues | None = None
    ) -> ClientTransaction:
        if request.method == "ACK":
            raise LocalProtocolError("ACK has no client transaction (§17.1.1.3)")
        kind = Kind.INVITE_CLIENT if request.method == "INVITE" else Kind.NON_INVITE_CLIENT
        transaction = cls(kind, request, reliable, timers or TimerValues())
        transaction.outbox.append(request)
        t1 = transaction.timers.t1
        if kind is Kind.INVITE_CLIENT:
            if not reliable:
                transaction._interval["A"] = t1
                transaction._arm("A", now, t1)
            transaction._arm("B", now, 64 * t1)
        else:
            if not reliable:
                transaction._interval["E"] = t1
                transaction._arm("E", now, t1)
            transaction._arm("F", now, 64 * t1)
        return transaction

    def receive_response(self, response: Response, now: float) -> None:
        stimulus = _stimulus_for_response(response.status, sending=False)
        before = self.state
        if not self._go(stimulus):
            return
        timers = self.timers
        if self.kind is Kind.INVITE_CLIENT:
            if stimulus is Stimulus.RECV_FINAL:
                # §17.1.1.3: the transaction ACKs every non-2xx final, retransmissions too.
                if self.ack is None:
                    self.ack = self._make_ack(response)
                self.outbox.append(self.ack)
                if before is not State.COMPLETED:
                    self.deadlines.pop("B", None)
                    self._arm("D", now, 0.0 if self.reliable else 32.0)
                    self.passed_up.append(response)
            elif stimulus is Stimulus.RECV_2XX:
                if before is not State.ACCEPTED:
                    self.deadlines.pop("B", None)
                    self._arm("M", now, 64 * timers.t1)
                self.passed_up.append(response)  # every 2xx goes up (RFC 6026)
            else:
                self.passed_up.append(response)
            return
        # non-INVITE client
        if stimulus is Stimulus.RECV_1XX:
            self.passed_up.append(response)
            if not self.reliable and "E" in self.deadlines:
                self._interval["E"] = timers.t2
        else:
            self.passed_up.append(response)
            self.deadlines.pop("F", None)
            self.deadlines.pop("E", None)
            self._arm("K", now, 0.0 if self.reliable else timers.t4)

    def _fire(self, name: str, now: float) -> None:
        stimulus = Stimulus[f"TIMER_{name}"]
        if not self._go(stimulus):
            return
        if name in ("A", "E"):
            self.outbox.append(self.request)
            interval = self._interval[name] * 2
            if name == "E" or self.state is State.PROCEEDING:
                interval = min(interval, self.timers.t2)
            if name == "E" and self.state is State.PROCEEDING:
                interval = self.timers.t2
            self._interval[name] = interval
            self._arm(name, now, self._interval[name])
        elif name in ("B", "F"):
            self.timed_out = True

    def _make_ack(self, response: Response) -> Request:
        request = self.request
        headers = [h for h in request.headers if h[0] in ("Call-ID", "From", "Route")]
        headers.insert(0, ("Via", request.get_all("Via")[0]))
        headers.append(("To", response.get("To") or ""))
        headers.append(("CSeq", f"{request.cseq.number} ACK"))
        headers.append(("Max-Forwards", "70"))
        return Request(headers=headers, method="ACK", uri=request.uri)


@dataclass
class ServerTransaction(Transaction):
    """INVITE (§17.2.1) and non-INVITE (§17.2.2) server transactions."""

    last_response: Response | None = None
    acked: bool = False

    @classmethod
    def start(
        cls, request: Request, reliable: bool, timers: TimerValues | None = None
    ) -> ServerTransaction:
        kind = Kind.INVITE_SERVER if request.method == "INVITE" else Kind.NON_INVITE_SERVER
        return cls(kind, request, reliable, timers or TimerValues())

    def receive_request(self, request: Request, now: float) -> None:
        """A retransmission of our request, or the ACK of a non-2xx final."""
        if request.method == "ACK":
            if self._go(Stimulus.RECV_ACK):
                self.acked = True
                self.deadlines.pop("H", None)
                self._arm("I", now, 0.0 if self.reliable else self.timers.t4)
            return
        if self._go(Stimulus.RECV_REQUEST) and self.last_response is not None:
            self.outbox.append(self.last_response)

    def send_response(self, response: Response, now: float) -> None:
        stimulus = _stimulus_for_response(response.status, sending=True)
        if not self._go(stimulus):
            raise LocalProtocolError(
                f"cannot send {response.status} in {self.kind.value} state {self.state.value}"
            )
        self.last_response = response
        self.outbox.append(response)
        timers = self.timers
        if self.kind is Kind.INVITE_SERVER:
            if stimulus is Stimulus.SEND_FINAL:
                if not self.reliable:
                    self._interval["G"] = timers.t1
                    self._arm("G", now, timers.t1)
                self._arm("H", now, 64 * timers.t1)
            elif stimulus is Stimulus.SEND_2XX and "L" not in self.deadlines:
                self._arm("L", now, 64 * timers.t1)
        elif stimulus is not Stimulus.SEND_1XX:
            self._arm("J", now, 0.0 if self.reliable else 64 * timers.t1)

    def _fire(self, name: str, now: float) -> None:
        if not self._go(Stimulus[f"TIMER_{name}"]):
            return
        if name == "G" and self.last_response is not None:
            self.outbox.append(self.last_response)
            self._interval["G"] = min(self._interval["G"] * 2, self.timers.t2)
            self._arm("G", now, self._interval["G"])
        elif name == "H":
            self.timed_out = True


def transitions_as_text() -> str:
    """The table as lines ``kind: state --stimulus--> state`` (for docs/sip.md)."""
    return "\n".join(
        f"{kind.value}: {state.value} --{stimulus.value}--> {target.value}"
        for (kind, state, stimulus), target in TRANSITIONS.items()
    )
