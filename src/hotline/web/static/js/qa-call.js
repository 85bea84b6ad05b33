// The QA call page: the player drives the transcript (current word highlighted), words,
// times and rule hits seek the player, the waveform is drawn from the server's peaks, and
// the sentiment curve is an ECharts line per speaker. `#t=83` in the URL starts at 01:23.
import * as echarts from "/static/vendor/echarts.esm.min.js";

const COLORS = { customer: "#1f6feb", agent: "#1a7f37", speaker: "#8250df" };

const root = document.getElementById("qa-call");
if (root) {
  const audio = document.getElementById("qa-audio");
  const position = document.getElementById("qa-position");
  const words = Array.from(root.querySelectorAll(".qa-words .w"));
  const starts = words.map((w) => Number(w.dataset.start));
  const ends = words.map((w) => Number(w.dataset.end));
  const duration = () => (audio && Number.isFinite(audio.duration) && audio.duration > 0
    ? audio.duration : Number(root.dataset.duration) || 0);
  const clock = (seconds) => {
    const s = Math.max(0, Math.floor(seconds));
    return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  };
  let current = null;
  let pendingSeek = null;

  // The word being said at `time`: the last word that started at or before it, while it
  // lasts (a pause between turns highlights nothing). Words are sorted per turn, turns in
  // time order, so a binary search over the starts finds it.
  const wordAt = (time) => {
    let low = 0, high = starts.length - 1, found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (starts[mid] <= time) { found = mid; low = mid + 1; } else { high = mid - 1; }
    }
    return found >= 0 && time <= ends[found] + 0.15 ? words[found] : null;
  };

  const show = (time) => {
    const word = wordAt(time);
    if (word !== current) {
      if (current) current.classList.remove("current");
      if (word) word.classList.add("current");
      current = word;
    }
    if (position) position.textContent = `${clock(time)} / ${clock(duration())}`;
    drawWave(time);
    markChart(time);
  };

  const seek = (time, play = true) => {
    if (!audio) { show(time); return; }
    if (audio.readyState < 1) {  // no metadata yet: seeking now would be lost
      pendingSeek = time;
    } else {
      audio.currentTime = time;
    }
    show(time);
    if (play) audio.play().catch(() => {});  // a browser without sound output refuses play
  };

  root.addEventListener("click", (event) => {
    const target = event.target.closest("[data-seek], .qa-words .w");
    if (!target) return;
    seek(Number(target.dataset.seek ?? target.dataset.start));
  });

  // Waveform: two lanes (customer above, agent below) from /qa/calls/{id}/waveform.
  const canvas = document.getElementById("qa-waveform");
  let wave = null;
  function drawWave(time = audio ? audio.currentTime : 0) {
    if (!canvas || !wave) return;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const lanes = wave.speakers.length;
    const lane = height / lanes;
    const total = wave.duration || duration() || 1;
    wave.speakers.forEach((speaker, index) => {
      const peaks = wave.peaks[speaker];
      const middle = lane * index + lane / 2;
      ctx.fillStyle = COLORS[speaker] || "#5d6b7a";
      const step = width / peaks.length;
      peaks.forEach((peak, i) => {
        const h = Math.max(1, peak * (lane / 2 - 2));
        ctx.fillRect(i * step, middle - h, Math.max(1, step - 0.3), h * 2);
      });
    });
    const x = (time / total) * width;
    ctx.fillStyle = "rgba(29,39,51,.85)";
    ctx.fillRect(x - 1, 0, 2, height);
    canvas.dataset.drawn = "true";
  }
  if (canvas) {
    fetch(canvas.dataset.url).then((r) => (r.ok ? r.json() : null)).then((shape) => {
      if (!shape) { canvas.dataset.drawn = "unavailable"; return; }
      wave = shape;
      drawWave();
    }).catch(() => { canvas.dataset.drawn = "unavailable"; });
    canvas.addEventListener("click", (event) => {
      const box = canvas.getBoundingClientRect();
      seek(((event.clientX - box.left) / box.width) * (wave?.duration || duration()));
    });
    window.addEventListener("resize", () => drawWave());
  }

  // Sentiment: one line per speaker, -1 (negative) .. 1 (positive) over the call's time.
  const text = JSON.parse(document.getElementById("qa-messages").textContent);
  const curve = JSON.parse(document.getElementById("qa-curve").textContent);
  const chartNode = document.getElementById("qa-sentiment-chart");
  let chart = null;
  if (chartNode) {
    chart = echarts.init(chartNode);
    const series = Object.entries(curve).map(([speaker, points]) => ({
      name: text[speaker] || speaker,
      type: "line",
      smooth: true,
      symbolSize: 6,
      data: points,
      lineStyle: { color: COLORS[speaker] },
      itemStyle: { color: COLORS[speaker] },
    }));
    series.push({ name: "now", type: "line", data: [], markLine: { symbol: "none", silent: true, data: [] } });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: (v) => (typeof v === "number" ? v.toFixed(2) : v) },
      legend: { top: 0, data: series.slice(0, -1).map((s) => s.name) },
      grid: { left: 40, right: 16, top: 32, bottom: 32 },
      xAxis: { type: "value", min: 0, max: Math.ceil(duration()) || null,
        axisLabel: { formatter: (v) => clock(v) } },
      yAxis: { type: "value", min: -1, max: 1, name: text.score },
      series,
    });
    chart.on("click", (params) => { if (Array.isArray(params.value)) seek(params.value[0]); });
    chartNode.dataset.series = String(series.length - 1);
    window.addEventListener("resize", () => chart.resize());
  }
  let lastMark = -1;
  function markChart(time) {
    if (!chart || Math.abs(time - lastMark) < 0.5) return;
    lastMark = time;
    chart.setOption({ series: [{ name: "now", markLine: { data: [{ xAxis: time }],
      lineStyle: { color: "#1d2733", type: "solid" }, label: { show: false } } }] });
  }

  if (audio) {
    audio.addEventListener("loadedmetadata", () => {
      if (pendingSeek !== null) { audio.currentTime = pendingSeek; pendingSeek = null; }
      show(audio.currentTime);
    });
    // timeupdate fires about 4 times a second: smooth enough for the text, and a frame
    // loop while playing keeps the highlighted word on time.
    audio.addEventListener("timeupdate", () => show(audio.currentTime));
    const frame = () => { show(audio.currentTime); if (!audio.paused) requestAnimationFrame(frame); };
    audio.addEventListener("play", () => requestAnimationFrame(frame));
  }

  const fromHash = () => {
    const match = /(?:^#|&)t=(\d+(?:\.\d+)?)/.exec(window.location.hash);
    if (match) seek(Number(match[1]), false);
  };
  window.addEventListener("hashchange", fromHash);
  fromHash();
  show(audio ? audio.currentTime : 0);
}
