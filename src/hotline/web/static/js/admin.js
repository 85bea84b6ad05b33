// The admin console's few scripted parts: htmx swaps the refusals of a step it posted
// (a contact list the API refused, a mapping without a phone column) instead of dropping
// them, as it does with every 4xx/5xx answer by default.
const SHOWN_REFUSALS = new Set([409, 413, 422]);

document.body.addEventListener("htmx:beforeSwap", (event) => {
  const { xhr, target } = event.detail;
  const html = (xhr.getResponseHeader("content-type") || "").startsWith("text/html");
  if (SHOWN_REFUSALS.has(xhr.status) && html && target && target.closest("[data-swap-refusals]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
