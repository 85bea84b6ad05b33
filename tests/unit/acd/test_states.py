"""The transition table itself: every (state, input) pair is decided by it and only it."""

from __future__ import annotations

import itertools

import pytest

from hotline.acd import AcdError, AgentInput, AgentState
from hotline.acd.states import TRANSITIONS, next_state

S = AgentState
I = AgentInput  # noqa: E741

EXPECTED = {
    (S.LOGGED_OUT, I.LOG_IN): S.AVAILABLE,
    (S.LOGGED_OUT, I.LOG_IN_ON_DEMAND): S.BREAK,
    (S.AVAILABLE, I.OFFER): S.RESERVED,
    (S.AVAILABLE, I.TAKE_BREAK): S.BREAK,
    (S.AVAILABLE, I.LOG_OUT): S.LOGGED_OUT,
    (S.RESERVED, I.ANSWER): S.ON_CALL,
    (S.RESERVED, I.REJECT): S.AVAILABLE,
    (S.RESERVED, I.NO_ANSWER): S.AVAILABLE,
    (S.RESERVED, I.NO_ANSWER_LIMIT): S.BREAK,
    (S.RESERVED, I.WITHDRAW): S.AVAILABLE,
    (S.RESERVED, I.LOG_OUT): S.LOGGED_OUT,
    (S.ON_CALL, I.HANG_UP): S.WRAP_UP,
    (S.WRAP_UP, I.WRAP_UP_END): S.AVAILABLE,
    (S.WRAP_UP, I.WRAP_UP_END_ON_DEMAND): S.BREAK,
    (S.WRAP_UP, I.READY): S.AVAILABLE,
    (S.WRAP_UP, I.TAKE_BREAK): S.BREAK,
    (S.WRAP_UP, I.LOG_OUT): S.LOGGED_OUT,
    (S.BREAK, I.READY): S.AVAILABLE,
    (S.BREAK, I.TAKE_BREAK): S.BREAK,
    (S.BREAK, I.LOG_OUT): S.LOGGED_OUT,
}


@pytest.mark.parametrize(("state", "agent_input"), list(itertools.product(S, I)))
def test_every_pair_is_either_a_row_or_an_error(state: S, agent_input: I) -> None:
    if (state, agent_input) in EXPECTED:
        assert next_state(state, agent_input) is EXPECTED[(state, agent_input)]
    else:
        with pytest.raises(AcdError, match=state.value):
            next_state(state, agent_input)


def test_table_is_exactly_the_documented_rules() -> None:
    assert dict(TRANSITIONS) == EXPECTED


def test_only_an_available_agent_can_be_offered_a_contact() -> None:
    assert [state for (state, i) in TRANSITIONS if i is I.OFFER] == [S.AVAILABLE]


def test_every_state_is_reachable_from_logged_out_and_can_get_back() -> None:
    reachable = {S.LOGGED_OUT}
    frontier = [S.LOGGED_OUT]
    while frontier:
        state = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is state and target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(S)
    # Every state but ON_CALL may log out directly; ON_CALL logs out after the call.
    can_log_out = {source for (source, i) in TRANSITIONS if i is I.LOG_OUT}
    assert can_log_out == set(S) - {S.LOGGED_OUT, S.ON_CALL}


def test_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[(S.ON_CALL, I.LOG_OUT)] = S.LOGGED_OUT  # type: ignore[index]
