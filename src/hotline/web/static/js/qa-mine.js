// The agent's own QA view: their average score per day (line) and calls scored (bars).
import * as echarts from "/static/vendor/echarts.esm.min.js";

const node = document.getElementById("qa-trend-chart");
if (node) {
  const text = JSON.parse(document.getElementById("qa-messages").textContent);
  const days = JSON.parse(document.getElementById("qa-trend").textContent);
  const chart = echarts.init(node);
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 40, right: 40, top: 32, bottom: 32 },
    xAxis: { type: "category", data: days.map((d) => d.day) },
    yAxis: [
      { type: "value", min: 0, max: 100, name: text.average },
      { type: "value", minInterval: 1, name: text.calls, splitLine: { show: false } },
    ],
    series: [
      { name: text.calls, type: "bar", yAxisIndex: 1, barMaxWidth: 48, itemStyle: { color: "#d9dee4" },
        data: days.map((d) => d.calls) },
      { name: text.average, type: "line", symbolSize: 7, itemStyle: { color: "#1f6feb" },
        data: days.map((d) => d.average) },
    ],
  });
  node.dataset.days = String(days.length);
  window.addEventListener("resize", () => chart.resize());
}
