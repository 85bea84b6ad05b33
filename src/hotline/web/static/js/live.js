// The consoles' live layer: the events WebSocket, fragment refreshes and ticking clocks.
//
// A page lists the event types it cares about; each event (and every reconnect, and a
// drop notice) refreshes the page's fragments through htmx ("live-refresh" trigger), at
// most once per DEBOUNCE_MS, so a burst of events costs one fetch per fragment.

const DEBOUNCE_MS = 100;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10000;

export function messages() {
  const node = document.getElementById("live-messages");
  return node ? JSON.parse(node.textContent) : {};
}

/** Connect to /api/v1/events for `types` (comma-separated); reconnects with backoff. */
export function connectEvents({ types, onEvent, statusNode }) {
  const text = messages();
  let delay = RECONNECT_MIN_MS;
  const setStatus = (state) => {
    if (!statusNode) return;
    statusNode.dataset.state = state;
    statusNode.textContent = text[state] || state;
  };
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = types ? `?types=${encodeURIComponent(types)}` : "";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/events${query}`);
    setStatus("connecting");
    socket.addEventListener("open", () => {
      delay = RECONNECT_MIN_MS;
      setStatus("live");
      onEvent({ type: "events.connected" }); // catch up on what happened while away
    });
    socket.addEventListener("message", (message) => {
      try {
        onEvent(JSON.parse(message.data));
      } catch (error) {
        console.warn("hotline: bad event", error);
      }
    });
    socket.addEventListener("close", () => {
      setStatus("down");
      setTimeout(open, delay);
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    });
  };
  open();
}

/** A function that refreshes the fragments (CSS selectors) after a short debounce. */
export function refresher(selectors) {
  const timers = new Map();
  return (selector) => {
    const targets = selector ? [selector] : selectors;
    for (const target of targets) {
      if (timers.has(target)) continue;
      timers.set(
        target,
        setTimeout(() => {
          timers.delete(target);
          const node = document.querySelector(target);
          if (node && window.htmx) window.htmx.trigger(node, "live-refresh");
        }, DEBOUNCE_MS),
      );
    }
  };
}

function clockText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/** Every `.clock[data-seconds]` counts up from the seconds it was rendered with
 * (`data-still`: shown, not counting), so time in state moves without refetching. */
export function startClocks() {
  const tick = () => {
    const now = performance.now();
    for (const node of document.querySelectorAll(".clock[data-seconds]")) {
      if (!node.dataset.t0) node.dataset.t0 = String(now);
      const base = Number(node.dataset.seconds) || 0;
      const elapsed = "still" in node.dataset ? 0 : (now - Number(node.dataset.t0)) / 1000;
      node.textContent = clockText(base + elapsed);
    }
  };
  tick();
  document.body.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
}
