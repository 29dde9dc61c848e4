// Botrader dashboard: live over /ws (a snapshot, then what each commit adds); polls the API
// every 2 s only while the socket is down. No build step.
"use strict";
const $ = (id) => document.getElementById(id);
const state = {
  bot: null, interval: "1m", tab: "overview", bots: [], series: null, chart: null, markers: null,
  detail: null, perf: null, candles: [], trades: { items: [], total: 0 }, audit: [],
};
const live = { socket: null, open: false, retry: null, fetched: {} };
const fmt = (x, d = 2) => (x === null || x === undefined ? "–" : Number(x).toLocaleString(undefined, { minimumFractionDigits: d, maximumFractionDigits: d }));
const pct = (x) => (x === null || x === undefined ? "–" : (x * 100).toFixed(2) + "%");
const utc = (t) => new Date(t).toISOString().slice(5, 16).replace("T", " ");

// The API token lives in this page's memory only (the password field): never in localStorage
// or a cookie, so a reload forgets it and no other page or later session can read it. It reads
// (when the API protects reads) and controls (Start, Stop, Emergency stop).
const token = () => $("token").value;
const b64url = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (token() && !headers.Authorization) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && !token()) throw new Error("this API needs a token to read: enter it in the API token field");
  if (!response.ok) throw new Error(`${path}: ${response.status} ${(await response.text()).slice(0, 200)}`);
  return response.json();
}

function setupChart() {
  const LW = window.LightweightCharts;
  state.chart = LW.createChart($("chart"), {
    layout: { background: { color: "#1e293b" }, textColor: "#cbd5e1", attributionLogo: false },  // credited in the footer: its logo injects an inline style the CSP forbids
    grid: { vertLines: { color: "#273449" }, horzLines: { color: "#273449" } },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
  state.series = state.chart.addSeries(LW.CandlestickSeries, {});
  state.markers = LW.createSeriesMarkers(state.series, []);
}

async function loadBots() {
  const bots = await api("/bots");
  state.bots = bots;
  const select = $("bot");
  put(select, html`${bots.map((b) => html`<option>${b.name}</option>`)}`);
  const wanted = bots.find((b) => b.name === state.bot) || bots[0] || {};
  state.bot = wanted.name || null;
  if (state.bot) select.value = state.bot;
}

// The view lives in the URL (?bot=&tab=&interval=): a link opens the same bot and tab.
function readUrl() {
  const q = new URLSearchParams(location.search);
  state.bot = q.get("bot") || null;
  state.tab = VIEWS.includes(q.get("tab")) ? q.get("tab") : "overview";
  state.interval = ["1m", "5m", "15m", "1h"].includes(q.get("interval")) ? q.get("interval") : "1m";
}

function writeUrl() {
  const q = new URLSearchParams({ tab: state.tab, interval: state.interval });
  if (state.bot) q.set("bot", state.bot);
  history.replaceState(null, "", `${location.pathname}?${q}`);
}

function upsertSummary(summary) {
  const i = state.bots.findIndex((b) => b.name === summary.name);
  if (i >= 0) state.bots[i] = { ...state.bots[i], ...summary };
  else state.bots.push(summary);
}

// Everything over HTTP: the first paint, and the fallback while the socket is down.
async function refresh() {
  try {
    if (!state.detail || !state.bots.length) await loadBots();
    if (!state.bot) { renderView(); $("error").textContent = ""; return; }
    state.detail = await api(`${botPath(state.bot)}`);
    const [perf, trades, audit] = await Promise.all([
      api(`${botPath(state.bot)}/performance`), api(`${botPath(state.bot)}/trades?limit=200`), api(`/audit?bot=${encodeURIComponent(state.bot)}&limit=20`),
    ]);
    Object.assign(state, { perf, trades, audit });
    state.candles = await api(candlesPath());
    render();
    $("error").textContent = "";
    if (!live.socket) connect();
  } catch (err) {
    $("error").textContent = String(err);
  }
}

const botPath = (name) => `/bots/${encodeURIComponent(name)}`;
// A portfolio bot's symbol lists its pairs: the chart shows the first.
const chartSymbol = () => state.detail.symbol.split(",")[0];
const candlesPath = () => `/candles?${new URLSearchParams({ symbol: chartSymbol(), interval: state.interval, exchange: state.detail.source, limit: 500 })}`;
const seriesKey = () => `${state.detail.source}:${chartSymbol()}:1m`;

function render() {
  renderView();
  if (!state.detail) return;
  renderStatus(state.detail, state.perf || {});
  renderChart(state.candles, state.trades.items);
  renderTrades(state.trades);
  renderStrategy(state.detail);
  renderAudit(state.audit);
}

let painting = false;
function paint() {  // at most one render per frame, however many messages arrive
  if (painting) return;
  painting = true;
  requestAnimationFrame(() => { painting = false; render(); });
}

// At most one call of `run` per `ms` for `key`, however many pushes ask for it.
function throttle(key, run, ms) {
  if (live.fetched[key + ":pending"]) return;
  live.fetched[key + ":pending"] = true;
  setTimeout(() => {
    live.fetched[key + ":pending"] = false;
    live.fetched[key] = Date.now();
    run();
  }, Math.max(0, (live.fetched[key] || 0) + ms - Date.now()));
}

// One HTTP read at most every `ms` for what the socket does not carry (performance figures,
// the last decision) or carries in another shape (candles at 5m/15m/1h).
function fetchSoon(key, path, apply, ms = 2000) {
  throttle(key, async () => {
    try { apply(await api(path)); paint(); } catch (err) { $("error").textContent = String(err); }
  }, ms);
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  // Browsers put no headers on a WebSocket: the token rides as a sub-protocol (as Kubernetes does).
  const protocols = token() ? ["botrader", `base64url.bearer.botrader.${b64url(token())}`] : [];
  const socket = new WebSocket(`${proto}://${location.host}/ws?bot=${encodeURIComponent(state.bot)}&series=${encodeURIComponent(seriesKey())}`, protocols);
  live.socket = socket;
  socket.onopen = () => {
    live.open = true;
    document.body.dataset.live = "1";
    const others = state.bots.map((b) => b.name).filter((n) => n !== state.bot);  // the Overview's rows
    if (others.length) socket.send(JSON.stringify({ subscribe: { bots: others } }));
    if (state.tab === "insights") followTraining();
  };
  socket.onmessage = (event) => {  // one message, or an array of them when we had fallen behind
    if (live.socket !== socket) return;
    const data = JSON.parse(event.data);
    (Array.isArray(data) ? data : [data]).forEach(receive);
  };
  socket.onclose = () => {
    if (live.socket !== socket) return;
    Object.assign(live, { socket: null, open: false });
    document.body.dataset.live = "0";
    clearTimeout(live.retry);
    live.retry = setTimeout(() => { if (!live.socket && state.detail) connect(); }, 5000);
  };
}

function reconnect() {
  const old = live.socket;
  Object.assign(live, { socket: null, open: false });
  if (old) old.close();
}

function receive(msg) {
  if (msg.type === "error") { $("error").textContent = msg.message; return; }
  if (msg.experiment !== undefined) { receiveRuns(msg); paint(); return; }
  if (msg.audit !== undefined && msg.audit !== state.bot) return;  // another bot's audit rows (the Overview subscribes every bot)
  if (msg.bot && msg.bot !== state.bot) {  // another bot: its Overview row only
    if (msg.type === "snapshot") upsertSummary(msg.detail);
    if (msg.type === "bot") { upsertSummary(msg.summary); sparkSoon(msg.bot); }
    paint();
    return;
  }
  if (msg.type === "snapshot" && msg.bot) { state.detail = msg.detail; state.trades = msg.trades; }
  else if (msg.type === "snapshot" && msg.series && state.interval === "1m") state.candles = msg.candles;
  else if (msg.type === "snapshot" && msg.audit) state.audit = msg.items;
  else if (msg.type === "candles") mergeCandles(msg.items);
  else if (msg.type === "audit") state.audit = [...msg.items.reverse(), ...state.audit].slice(0, 20);
  else if (msg.type === "bot") mergeBot(msg);
  paint();
}

function mergeCandles(items) {
  if (state.interval !== "1m") { fetchSoon("candles", candlesPath(), (c) => { state.candles = c; }, 1000); return; }
  const byTime = new Map(state.candles.map((c) => [c.time, c]));
  for (const c of items) byTime.set(c.time, c);
  state.candles = [...byTime.values()].sort((a, b) => a.time - b.time).slice(-500);
}

function mergeBot(msg) {
  Object.assign(state.detail, msg.summary);
  upsertSummary(msg.summary);
  sparkSoon(msg.bot);
  viewSoon();
  if (msg.fills.length) {
    const known = new Set(state.trades.items.map((t) => t.seq));
    const fresh = msg.fills.filter((t) => !known.has(t.seq)).reverse();
    state.trades = { ...state.trades, items: [...fresh, ...state.trades.items].slice(0, 200), total: msg.summary.trades };
    fetchSoon("detail", `${botPath(state.bot)}`, (d) => { state.detail = d; });
  }
  fetchSoon("perf", `${botPath(state.bot)}/performance`, (p) => { state.perf = p; });
}

function renderStatus(bot, perf) {
  const phase = $("phase");
  phase.textContent = bot.phase;
  phase.className = "phase " + bot.phase;
  $("breakers").textContent = [bot.message, ...Object.values(bot.breakers)].filter(Boolean).join("; ");
  const cards = [
    ["equity", fmt(bot.equity)], ["PnL", bot.pnl_percent === null ? "–" : bot.pnl_percent.toFixed(2) + "%"],
    ["return", pct(perf.total_return)], ["Sharpe", sharpe(perf)], ["max drawdown", pct(perf.max_drawdown)],
    ["win rate", pct(perf.win_rate)], ["profit factor", fmt(perf.profit_factor)], ["fills", String(bot.trades)],
  ];
  put($("cards"), html`${cards.map(([k, v]) => html`<div class="card"><div class="k">${k}</div><div class="v" data-card="${k}">${v}</div></div>`)}`);
}

// A Sharpe from a few daily returns means nothing (its standard error is ~√(365/days)): say so.
function sharpe(perf) {
  if (perf.sharpe !== null) return fmt(perf.sharpe);
  return html`n/a <span class="hint" title="Sharpe needs ${perf.sharpe_min_days} daily returns">(${perf.days} of ${perf.sharpe_min_days} days)</span>`;
}

function bucket(ms) {
  const step = { "1m": 60e3, "5m": 300e3, "15m": 900e3, "1h": 3600e3 }[state.interval];
  return Math.floor(ms / step) * step / 1000;
}

function renderChart(candles, trades) {
  state.series.setData(candles.map((c) => ({ time: c.time / 1000, open: c.open, high: c.high, low: c.low, close: c.close })));
  const first = candles.length ? candles[0].time : Infinity;
  const markers = trades.filter((t) => (!t.symbol || t.symbol === chartSymbol()) && Date.parse(t.time + (t.time.endsWith("Z") || t.time.includes("+") ? "" : "Z")) >= first)
    .map((t) => ({ time: bucket(Date.parse(t.time + (t.time.endsWith("Z") || t.time.includes("+") ? "" : "Z"))),
      position: t.side === "buy" ? "belowBar" : "aboveBar", color: t.side === "buy" ? "#4ade80" : "#f87171",
      shape: t.side === "buy" ? "arrowUp" : "arrowDown", text: t.side }))
    .sort((a, b) => a.time - b.time);
  state.markers.setMarkers(markers);
  $("chart-info").textContent = `${candles.length} candles, ${markers.length} trade markers`;
  $("chart").dataset.candles = String(candles.length);
  $("chart").dataset.markers = String(markers.length);
  $("chart").dataset.lastCandle = String(candles.length ? candles[candles.length - 1].time : 0);
}

function markInterval() {
  document.querySelectorAll(".intervals button").forEach((x) => x.classList.toggle("on", x.dataset.interval === state.interval));
}

function renderTrades(page) {
  $("trades").dataset.total = String(page.total);
  put($("trades").querySelector("tbody"), html`${page.items.slice(0, 25).map((t) =>
    html`<tr><td>${t.time.slice(5, 16).replace("T", " ")}</td><td>${t.symbol || state.detail.symbol}</td><td class="${t.side}">${t.side}</td><td>${fmt(t.quantity, 5)}</td>
    <td>${fmt(t.price)}</td><td>${fmt(t.fee, 4)}</td><td>${t.side === "sell" ? fmt(t.pnl) : ""}</td></tr>`)}`);
}

function renderStrategy(bot) {
  put($("strategy"), html`<div>${bot.strategy} on ${bot.symbol} ${bot.interval} · budget ${fmt(bot.budget, 0)} · source ${bot.source}</div>${decisionHtml(bot.last_decision)}`);
}

function renderAudit(entries) {
  put($("audit").querySelector("tbody"), html`${entries.map((a) =>
    html`<tr><td>${a.time.slice(5, 16).replace("T", " ")}</td><td>${a.actor}</td><td>${JSON.stringify(a.after)}</td></tr>`)}`);
}

async function control(action) {
  try {
    await api(`${botPath(state.bot)}/${action}`, { method: "POST" });
    await refresh();
  } catch (err) {
    $("error").textContent = String(err);
  }
}

function selectBot(name) {
  if (name === state.bot) return;
  state.bot = name;
  $("bot").value = name;
  state.detail = null;
  writeUrl();
  reconnect();
  refresh().then(() => loadView(true));
}

function main() {
  readUrl();
  localStorage.removeItem("botrader-token");  // where earlier versions kept it
  $("token").addEventListener("change", () => { reconnect(); refresh(); });
  setupChart();
  document.querySelectorAll("header button[data-action]").forEach((b) => b.addEventListener("click", () => control(b.dataset.action)));
  document.querySelectorAll(".intervals button").forEach((b) => b.addEventListener("click", () => {
    state.interval = b.dataset.interval;
    markInterval();
    writeUrl();
    refresh();
  }));
  $("bot").addEventListener("change", (e) => selectBot(e.target.value));
  document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
  markInterval();
  showTab(state.tab, false);
  refresh().then(() => loadView(true));  // the tab's own reads need the bots first
  setInterval(() => { if (!live.open) refresh(); }, 2000);
}
