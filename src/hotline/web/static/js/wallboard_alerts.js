// Live risk alerts on the wallboard (docs/qa-live-alerts.md): each qa.risk_alert_raised
// that this user may see, newest first, with the call's queue, agent, category and words.
import { connectEvents, messages } from "./live.js";

const MAX_SHOWN = 50;

const section = document.getElementById("wall-alerts");
if (section) {
  const text = messages();
  const list = document.getElementById("alert-list");
  const none = document.getElementById("alerts-none");
  const time = (seconds) => new Date(seconds * 1000).toLocaleTimeString();

  const show = (alert) => {
    const item = document.createElement("li");
    item.dataset.testid = "risk-alert";
    item.dataset.category = alert.category;
    item.dataset.callId = alert.call_id;
    const head = document.createElement("strong");
    head.textContent = `${time(alert.at)} · ${text[alert.category] || alert.category}`;
    const where = document.createElement("span");
    where.textContent = ` · ${alert.queue}${alert.agent ? ` · ${alert.agent}` : ""} · `;
    const said = document.createElement("q");
    said.textContent = alert.text; // the customer's words: text, never HTML
    item.append(head, where, said);
    list.prepend(item);
    while (list.children.length > MAX_SHOWN) list.lastElementChild.remove();
    none.hidden = true;
  };

  connectEvents({
    types: section.dataset.events,
    onEvent(event) {
      if (event.type === "qa.risk_alert_raised") show(event);
    },
  });
}
