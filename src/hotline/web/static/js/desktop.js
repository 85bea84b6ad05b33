// The agent desktop: refresh state, call banner and wrap-up when the agent's events come.
import { connectEvents, refresher, startClocks } from "./live.js";

const root = document.getElementById("desktop");
if (root) {
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
