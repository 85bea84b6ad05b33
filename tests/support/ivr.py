"""Runs IVR flows as a caller would, for tests that have no telephony yet."""

from __future__ import annotations

import asyncio

import httpx

from hotline.events import Event
from hotline.ivr.flow import Flow
from hotline.ivr.io import Command, DigitReceived, Play, PromptFinished
from hotline.ivr.run import FlowRun
from hotline.ivr.session import IvrSession

#: A small menu flow as an admin writes it (a comment, a menu, a queue): stored as written,
#: comments included. The admin API's unit tests and the admin console's browser tests both
#: upload it; ``MENU_FLOW_TYPO`` names a node that does not exist (the validator's error
#: points at the menu's line).
MENU_FLOW = """\
# after-hours menu
start: menu
nodes:
  menu:
    type: menu
    prompt: {text: {en: "Press 1 for sales"}}
    options:
      "1": sales
    on_failure: bye
  sales:
    type: queue
    queue: sales
  bye:
    type: hangup
"""
MENU_FLOW_TYPO = MENU_FLOW.replace('"1": sales', '"1": salse')


class ScriptedCall:
    """Stands in for the call layer: prompts end at once; at each prompt that accepts keys
    the caller keys the next string of ``answers`` (or waits, once they run out)."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = list(answers)
        self.commands: list[Command] = []
        self.session: IvrSession | None = None

    def execute(self, command: Command) -> None:
        self.commands.append(command)
        assert self.session is not None
        if isinstance(command, Play):
            if command.barge_in and self.answers:
                for key in self.answers.pop(0):
                    self.session.feed(DigitReceived(key))
            else:
                self.session.feed(PromptFinished())

    def spoken(self) -> list[str]:
        """Every TTS text played, in order."""
        return [
            item.text
            for command in self.commands
            if isinstance(command, Play)
            for item in command.prompts
            if item.text is not None
        ]


async def call_flow(
    flow: Flow, answers: list[str], variables: dict[str, str] | None = None
) -> tuple[ScriptedCall, list[Event]]:
    events: list[Event] = []
    call = ScriptedCall(answers)
    run = FlowRun(flow, call_id="test-call", calendars={}, variables=variables)
    async with httpx.AsyncClient() as client:
        call.session = IvrSession(run, call, client, events.append)
        await asyncio.wait_for(call.session.run(), timeout=20)
    return call, events
