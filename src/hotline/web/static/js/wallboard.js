// The supervisor wallboard: live tiles and agent grid, and today's calls by interval.
import * as echarts from "/static/vendor/echarts.esm.min.js";
import { connectEvents, messages, refresher, startClocks } from "./live.js";

const CHART_EVERY_MS = 60000;
const CHART_AFTER_CALL_MS = 2000;

const root = document.getElementById("wallboard");
if (root) {
  const text = messages();
  const refresh = refresher(["#wall-queues", "#wall-agents"]);
  const chartNode = document.getElementById("interval-chart");
  const minutesNode = document.getElementById("chart-minutes");
  const chart = echarts.init(chartNode);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  let chartTimer = null;

  const today = () => {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone }).formatToParts(new Date());
    const part = (type) => parts.find((p) => p.type === type).value;
    return `${part("year")}-${part("month")}-${part("day")}`;
  };

  const drawChart = async () => {
    const minutes = minutesNode.value;
    const query = new URLSearchParams({ day: today(), minutes, timezone: zone });
    const response = await fetch(`/api/v1/stats/intervals?${query}`);
    if (!response.ok) return;
    const stats = await response.json();
    const labels = stats.intervals.map((i) => i.start.slice(11, 16));
    const series = ["handled", "abandoned", "other"].map((key) => ({
      name: text[key],
      type: "bar",
      stack: "calls",
      data: stats.intervals.map((i) => i[key]),
    }));
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 40, right: 16, top: 32, bottom: 40 },
      xAxis: { type: "category", data: labels },
      yAxis: { type: "value", name: text.calls, minInterval: 1 },
      series,
    }, true);
    chartNode.dataset.offered = String(stats.intervals.reduce((n, i) => n + i.offered, 0));
  };
  const chartSoon = () => {
    clearTimeout(chartTimer);
    chartTimer = setTimeout(drawChart, CHART_AFTER_CALL_MS);
  };

  connectEvents({
    types: root.dataset.events,
    statusNode: document.getElementById("live-status"),
    onEvent(event) {
      refresh();
      if (event.type === "calls.ended" || event.type === "events.connected") chartSoon();
    },
  });
  minutesNode.addEventListener("change", drawChart);
  window.addEventListener("resize", () => chart.resize());
  setInterval(drawChart, CHART_EVERY_MS);
  drawChart();
  startClocks();
}
