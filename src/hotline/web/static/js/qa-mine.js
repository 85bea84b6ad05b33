// The agent's own QA view: how their customers left their calls, day by day.
import * as echarts from "/static/vendor/echarts.esm.min.js";

const node = document.getElementById("qa-trend-chart");
if (node) {
  const text = JSON.parse(document.getElementById("qa-messages").textContent);
  const calls = JSON.parse(document.getElementById("qa-trend").textContent);
  const labels = ["negative", "neutral", "positive"];
  const days = new Map();
  for (const call of calls) {
    if (!call.at) continue;
    const day = call.at.slice(0, 10);
    if (!days.has(day)) days.set(day, { negative: 0, neutral: 0, positive: 0 });
    if (call.sentiment in days.get(day)) days.get(day)[call.sentiment] += 1;
  }
  const order = Array.from(days.keys()).sort();
  const colors = { negative: "#cf222e", neutral: "#8c959f", positive: "#1a7f37" };
  const chart = echarts.init(node);
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 40, right: 16, top: 32, bottom: 32 },
    xAxis: { type: "category", data: order },
    yAxis: { type: "value", minInterval: 1, name: text.calls },
    series: labels.map((label) => ({
      name: text[label], type: "bar", stack: "calls", itemStyle: { color: colors[label] },
      data: order.map((day) => days.get(day)[label]),
    })),
  });
  node.dataset.days = String(order.length);
  window.addEventListener("resize", () => chart.resize());
}
