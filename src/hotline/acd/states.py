"""The agent state machine as data: every legal transition is one row of ``TRANSITIONS``.

Keeping the table in one place (the h11 ``_state.py`` idea) means the rules can be read,
tested exhaustively and drawn without reading the code that applies them. Inputs whose
outcome depends on configuration (on-demand agents, the no-answer limit) are separate inputs,
so that the table alone decides the next state.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from hotline.acd.errors import AcdError


class AgentState(enum.Enum):
    """Where an agent is; only ``AVAILABLE`` agents are ever offered a contact."""

    # Members are singletons, so identity hashing agrees with equality; it skips Enum's
    # Python-level __hash__, which showed in profiles of the routing path.
    __hash__ = object.__hash__

    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RESERVED = "reserved"  # a contact is ringing on the agent's phone
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"  # after-call work; no new contact until it ends
    BREAK = "break"  # logged in but not taking contacts, with a reason code


class AgentInput(enum.Enum):
    """What can happen to an agent."""

    __hash__ = object.__hash__  # see AgentState

    LOG_IN = "log_in"
    LOG_IN_ON_DEMAND = "log_in_on_demand"  # on-demand agents start not ready
    LOG_OUT = "log_out"
    OFFER = "offer"
    ANSWER = "answer"
    REJECT = "reject"
    NO_ANSWER = "no_answer"
    NO_ANSWER_LIMIT = "no_answer_limit"  # the max no-answer count was reached: auto break
    WITHDRAW = "withdraw"  # the contact went away or was answered elsewhere while ringing
    HANG_UP = "hang_up"
    WRAP_UP_END = "wrap_up_end"
    WRAP_UP_END_ON_DEMAND = "wrap_up_end_on_demand"
    TAKE_BREAK = "take_break"
    READY = "ready"


_S = AgentState
_I = AgentInput

#: (state, input) -> next state. Anything absent is illegal.
TRANSITIONS: Mapping[tuple[AgentState, AgentInput], AgentState] = MappingProxyType(
    {
        (_S.LOGGED_OUT, _I.LOG_IN): _S.AVAILABLE,
        (_S.LOGGED_OUT, _I.LOG_IN_ON_DEMAND): _S.BREAK,
        (_S.AVAILABLE, _I.OFFER): _S.RESERVED,
        (_S.AVAILABLE, _I.TAKE_BREAK): _S.BREAK,
        (_S.AVAILABLE, _I.LOG_OUT): _S.LOGGED_OUT,
        (_S.RESERVED, _I.ANSWER): _S.ON_CALL,
        (_S.RESERVED, _I.REJECT): _S.AVAILABLE,
        (_S.RESERVED, _I.NO_ANSWER): _S.AVAILABLE,
        (_S.RESERVED, _I.NO_ANSWER_LIMIT): _S.BREAK,
        (_S.RESERVED, _I.WITHDRAW): _S.AVAILABLE,
        (_S.RESERVED, _I.LOG_OUT): _S.LOGGED_OUT,
        (_S.ON_CALL, _I.HANG_UP): _S.WRAP_UP,
        (_S.WRAP_UP, _I.WRAP_UP_END): _S.AVAILABLE,
        (_S.WRAP_UP, _I.WRAP_UP_END_ON_DEMAND): _S.BREAK,
        (_S.WRAP_UP, _I.READY): _S.AVAILABLE,
        (_S.WRAP_UP, _I.TAKE_BREAK): _S.BREAK,
        (_S.WRAP_UP, _I.LOG_OUT): _S.LOGGED_OUT,
        (_S.BREAK, _I.READY): _S.AVAILABLE,
        (_S.BREAK, _I.TAKE_BREAK): _S.BREAK,  # change of reason code
        (_S.BREAK, _I.LOG_OUT): _S.LOGGED_OUT,
    }
)


def next_state(state: AgentState, agent_input: AgentInput) -> AgentState:
    """The state after ``agent_input``, or :class:`AcdError` if the table has no such row."""
    try:
        return TRANSITIONS[(state, agent_input)]
    except KeyError:
        raise AcdError(
            f"an agent in state {state.value!r} cannot {agent_input.value.replace('_', ' ')}"
        ) from None


#: States in which an agent counts as staffed for a queue (logged in and not on break).
STAFFED_STATES = frozenset({_S.AVAILABLE, _S.RESERVED, _S.ON_CALL, _S.WRAP_UP})

#: States whose time counts as handling time in occupancy and utilization.
HANDLING_STATES = frozenset({_S.ON_CALL, _S.WRAP_UP})


def transitions_markdown() -> str:
    """The table as Markdown, so ``docs/acd.md`` is generated from the code (a test checks
    that the page carries exactly this text)."""
    lines = ["| state | input | next state |", "|---|---|---|"]
    for (state, agent_input), target in TRANSITIONS.items():
        lines.append(f"| {state.value} | {agent_input.value} | {target.value} |")
    return "\n".join(lines) + "\n"
