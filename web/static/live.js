// The live feed: stored reviews as they arrive, a per-minute sentiment-mix chart drawn on
// a canvas, and counts per source and per language. Review text is always inserted as text, never as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const initial = JSON.parse($("initial-data").textContent);
  const MINUTES = 30, FEED_MAX = 200, SEEN_MAX = 5000;
  const colours = { good: "#2e9d4f", average: "#e0a526", bad: "#d2453d" };
  const perMinute = new Map();   // minute (ms) -> {good, average, bad}
  const bySource = new Map(Object.entries((initial.stats && initial.stats.by_source) || {}));
  // "" = not detected (too short to tell, scored as English) or stored before languages were detected
  const byLanguage = new Map(Object.entries((initial.stats && initial.stats.by_language) || {}));
  const seen = new Set();
  let total = Number((initial.stats && initial.stats.reviews) || 0), retryMs = 500;

  function minuteOf(iso) { const t = Date.parse(iso); return Math.floor((isNaN(t) ? Date.now() : t) / 60000) * 60000; }

  function remember(review) {
    if (seen.has(review.id)) return false;
    seen.add(review.id);
    if (seen.size > SEEN_MAX) seen.delete(seen.values().next().value);
    const minute = minuteOf(review.scored_at || review.ts);
    const bucket = perMinute.get(minute) || { good: 0, average: 0, bad: 0 };
    if (review.label in bucket) bucket[review.label] += 1;
    perMinute.set(minute, bucket);
    return true;
  }

  function addToFeed(review) {
    const item = document.createElement("li");
    item.dataset.id = review.id;
    const meta = document.createElement("div");
    meta.className = "meta";
    const pill = document.createElement("span");
    pill.className = "pill " + (review.label || "unscored");
    pill.textContent = review.label ? review.label + " " + Math.round(review.score * 100) + "%"
      : "not scored (" + (review.language || "?") + ")";
    meta.append(pill, " " + [review.brand, review.source, review.kind,
      review.rating ? review.rating + "★" : "", (review.scored_at || review.ts || "").slice(11, 19)]
      .filter(Boolean).join(" · "));
    const body = document.createElement("div");
    body.className = "text";
    body.textContent = review.text;
    item.append(meta, body);
    const feed = $("feed");
    feed.prepend(item);
    while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
  }

  function drawTable(id, counts, key, blank) {
    $(id).replaceChildren(...[...counts.entries()].sort((a, b) => b[1] - a[1]).map(([value, n]) => {
      const row = document.createElement("tr");
      const name = document.createElement("td"), count = document.createElement("td");
      name.textContent = value || blank; count.textContent = String(n); count.dataset[key] = value;
      row.append(name, count);
      return row;
    }));
  }

  function drawCounts() {
    drawTable("source-counts", bySource, "source", "(none)");
    drawTable("language-counts", byLanguage, "language", "not detected (scored as English)");
    $("total-count").textContent = String(total);
  }

  function drawChart() {
    const canvas = $("mix-chart"), ctx = canvas.getContext("2d");
    const now = Math.floor(Date.now() / 60000) * 60000;
    const minutes = Array.from({ length: MINUTES }, (_, i) => now - (MINUTES - 1 - i) * 60000);
    for (const minute of [...perMinute.keys()]) if (minute < minutes[0]) perMinute.delete(minute);
    const totals = minutes.map((m) => { const b = perMinute.get(m); return b ? b.good + b.average + b.bad : 0; });
    const peak = Math.max(1, ...totals), pad = 24, width = canvas.width, height = canvas.height;
    const barWidth = (width - pad) / MINUTES;
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "#6b7380"; ctx.font = "11px system-ui";
    ctx.fillText(String(peak), 2, 12); ctx.fillText("0", 2, height - 4);
    minutes.forEach((minute, i) => {
      const bucket = perMinute.get(minute) || { good: 0, average: 0, bad: 0 };
      let y = height - 2;
      for (const label of ["bad", "average", "good"]) {
        const h = (bucket[label] / peak) * (height - 16);
        ctx.fillStyle = colours[label];
        ctx.fillRect(pad + i * barWidth + 1, y - h, barWidth - 2, h);
        y -= h;
      }
    });
    canvas.dataset.reviews = String(totals.reduce((a, b) => a + b, 0));
  }

  // The banner: brands whose bad share just turned (web/alerts.py), written as text, never as HTML.
  function showAlerts(alerts) {
    const banner = $("alert-banner"), list = $("alert-list");
    list.replaceChildren(...(alerts || []).map((alert) => {
      const item = document.createElement("li");
      item.textContent = alert.message;
      item.dataset.subject = alert.subject;
      return item;
    }));
    banner.hidden = list.children.length === 0;
  }

  function receive(reviews, live) {
    for (const review of reviews) {
      if (!remember(review)) continue;
      if (live) {
        total += 1;
        bySource.set(review.source, (Number(bySource.get(review.source)) || 0) + 1);
        const language = review.language || "";
        byLanguage.set(language, (Number(byLanguage.get(language)) || 0) + 1);
      }
      addToFeed(review);
    }
    drawCounts(); drawChart();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/live");
    socket.addEventListener("open", () => { retryMs = 500; $("live-status").textContent = "live"; });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "alerts") { showAlerts(message.alerts); return; }
      if (message.type !== "reviews") return;
      $("dropped-count").textContent = String(message.dropped || 0);
      receive(message.reviews, true);
    });
    socket.addEventListener("close", () => {
      $("live-status").textContent = "reconnecting…";
      setTimeout(connect, retryMs); retryMs = Math.min(retryMs * 2, 10000);
    });
  }

  receive(initial.reviews || [], false);
  showAlerts(initial.alerts);
  setInterval(drawChart, 15000);
  connect();
})();
