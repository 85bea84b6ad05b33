// The agent desktop: refresh state, call banner and wrap-up when the agent's events come.
import { connectEvents, refresher, startClocks } from "./live.js";

// A refused action answers with its fragment and the API's status (a transfer target the
// API cannot reach, a number that cannot be dialled). htmx swaps no 4xx/5xx by default,
// which would swallow the message: the desktop's own fragments are swapped all the same.
const SHOWN_REFUSALS = new Set([404, 409, 422, 503]);

const root = document.getElementById("desktop");
if (root) {
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const { xhr, target } = event.detail;
    const html = (xhr.getResponseHeader("content-type") || "").startsWith("text/html");
    if (SHOWN_REFUSALS.has(xhr.status) && html && target && root.contains(target)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // A refusal shown next to its control (a `data-problem-of` slot) stays until the agent
  // acts again: a live refresh re-renders the fragment from the server, which keeps no
  // memory of it, and would otherwise wipe the message before the agent has read it.
  const keptProblems = new Map();
  document.body.addEventListener("htmx:afterSwap", (event) => {
    const { target, requestConfig } = event.detail;
    if (!target || !root.contains(target)) return;
    const slots = target.querySelectorAll("[data-problem-of]");
    if (requestConfig && requestConfig.verb !== "get") {
      keptProblems.clear();
      for (const slot of slots) {
        if (slot.innerHTML.trim()) keptProblems.set(slot.dataset.problemOf, slot.innerHTML);
      }
      return;
    }
    for (const slot of slots) {
      const kept = keptProblems.get(slot.dataset.problemOf);
      if (kept && !slot.innerHTML.trim()) slot.innerHTML = kept;
    }
  });
  const refresh = refresher(["#desk-state", "#desk-call", "#desk-wrapup"]);
  connectEvents({
    types: root.dataset.events,
    statusNode: document.getElementById("live-status"),
    onEvent(event) {
      refresh();
      if (event.type === "calls.ended" || event.type === "acd.agent_state_changed") {
        // The call's record is written just after it ends: look again for its wrap-up.
        setTimeout(() => refresh("#desk-wrapup"), 1500);
      }
    },
  });
  startClocks();
}
