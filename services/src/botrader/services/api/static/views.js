// The dashboard's tabs: Overview (every bot, then the selected bot's detail), Performance,
// Strategies, AI Insights, Audit log. Each reads the public API only; loaded after app.js.
"use strict";
const VIEWS = ["overview", "performance", "strategies", "insights", "audit"];
const views = { sparks: {}, perf: null, venue: null, trips: [], equity: [], strategies: null, models: null, searches: null, audit: [], details: {}, runs: null, following: null };
const TRAINING = "Deep_RL_Trading";  // TrainingRuns' default MLflow experiment, when no model names its own
const day = (iso) => iso.slice(5, 16).replace("T", " ");

function showTab(tab, load = true) {
  state.tab = tab;
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("on", b.dataset.tab === tab));
  VIEWS.forEach((v) => { $(`view-${v}`).hidden = v !== tab; });
  document.body.dataset.tab = tab;
  writeUrl();
  if (load) loadView(true);
}

// What a tab needs beyond the live state, read when it is shown and, while it stays shown,
// at most every few seconds after a pushed update.
async function loadView(now = false) {
  try {
    if (state.tab === "overview") await Promise.all(state.bots.map((b) => loadSpark(b.name)));
    if (state.tab === "performance" && state.bot) await loadPerformance();
    if (state.tab === "strategies") await loadStrategies();
    if (state.tab === "insights" && state.bot) await loadInsights();
    if (state.tab === "audit") views.audit = await api(`/audit?limit=200${$("audit-bot").value ? `&bot=${encodeURIComponent($("audit-bot").value)}` : ""}`);
    renderView();
  } catch (err) {
    $("error").textContent = String(err);
  }
  if (now) document.body.dataset.loaded = state.tab;
}

function viewSoon() {
  if (state.tab === "performance" || state.tab === "audit") throttle("view", () => loadView(), 3000);
}

async function loadSpark(name) { views.sparks[name] = await api(`${botPath(name)}/equity?points=60`); }
function sparkSoon(name) {
  if (state.tab === "overview") fetchSoon(`spark-${name}`, `${botPath(name)}/equity?points=60`, (p) => { views.sparks[name] = p; }, 5000);
}

function renderView() {
  if (state.tab === "overview") renderOverview();
  else if (state.tab === "performance") renderPerformance();
  else if (state.tab === "strategies") renderStrategies();
  else if (state.tab === "insights") renderInsights();
  else if (state.tab === "audit") renderAuditView();
}

// -- Overview ------------------------------------------------------------------------------
// A bot's message already joins its breakers' reasons ("; "): each reason once, not twice.
const reasons = (b) =>
  [...new Set([b.message, ...Object.values(b.breakers || {})].flatMap((m) => (m || "").split("; ")))]
    .filter(Boolean).join("; ") || "–";

function renderOverview() {
  $("bots-empty").hidden = state.bots.length > 0;
  put($("bots").querySelector("tbody"), html`${state.bots.map((b) =>
    html`<tr data-bot="${b.name}" class="${b.name === state.bot ? "selected" : ""}"><td>${b.name}</td>
    <td><span class="phase ${b.phase}" title="${b.message}">${b.phase}</span></td><td>${b.strategy}</td><td>${b.symbol}</td>
    <td>${fmt(b.equity)}</td><td class="${(b.pnl_percent || 0) >= 0 ? "buy" : "sell"}">${b.pnl_percent === null ? "–" : b.pnl_percent.toFixed(2) + "%"}</td>
    <td>${fmt(b.position, 5)}</td><td>${b.trades}</td><td>${reasons(b)}</td>
    <td>${sparkline(views.sparks[b.name] || [])}</td></tr>`)}`);
  $("bots").dataset.rows = String(state.bots.length);
  $("bots").querySelectorAll("tbody tr").forEach((tr) => tr.addEventListener("click", () => selectBot(tr.dataset.bot)));
}

function sparkline(points, w = 140, h = 28) {
  if (points.length < 2) return html`<span class="hint">–</span>`;
  const ys = points.map((p) => p.equity), lo = Math.min(...ys), hi = Math.max(...ys), span = hi - lo || 1;
  const path = ys.map((y, i) => `${(i / (ys.length - 1)) * w},${h - 2 - ((y - lo) / span) * (h - 4)}`).join(" ");
  const color = ys[ys.length - 1] >= ys[0] ? "#4ade80" : "#f87171";
  return html`<svg class="spark" width="${w}" height="${h}" data-points="${ys.length}"><polyline fill="none" stroke="${color}" stroke-width="1.5" points="${path}"/></svg>`;
}

// -- Performance ---------------------------------------------------------------------------
async function loadPerformance() {
  const onVenue = ((state.detail && state.detail.spec.venue) || {}).type;
  [views.equity, views.perf, views.trips, views.venue] = await Promise.all([
    api(`${botPath(state.bot)}/equity?points=2000`), api(`${botPath(state.bot)}/performance`), api(`${botPath(state.bot)}/round-trips`),
    onVenue && onVenue !== "paper" ? api(`${botPath(state.bot)}/divergence`) : null,
  ]);
}

function lineChart(id) {
  const LW = window.LightweightCharts;
  if (!views[id]) {
    views[id] = LW.createChart($(id), {
      layout: { background: { color: "#1e293b" }, textColor: "#cbd5e1", attributionLogo: false },  // credited in the footer: its logo injects an inline style the CSP forbids
      grid: { vertLines: { color: "#273449" }, horzLines: { color: "#273449" } },
      timeScale: { timeVisible: true, secondsVisible: false }, autoSize: true,
    });
  }
  return views[id];
}

function renderPerformance() {
  const marks = views.equity, perf = views.perf;
  if (!state.bot || !perf) return;
  const t = (m) => Date.parse(m.time) / 1000;
  const equity = lineChart("equity-chart"), drawdown = lineChart("drawdown-chart");
  const LW = window.LightweightCharts;
  views.series = views.series || {
    equity: equity.addSeries(LW.LineSeries, { color: "#60a5fa", lineWidth: 2, title: "bot" }),
    hold: equity.addSeries(LW.LineSeries, { color: "#a3a3a3", lineWidth: 1, title: "buy & hold" }),
    under: drawdown.addSeries(LW.AreaSeries, { lineColor: "#f87171", topColor: "rgba(248,113,113,0.1)", bottomColor: "rgba(248,113,113,0.5)" }),
  };
  // Buy-and-hold: the budget in the market at the first mark's price, marked at each price since
  // (a portfolio's marks carry no one price: its buy-and-hold is the metrics' equal-weight figure).
  const budget = state.detail ? state.detail.budget : marks.length ? marks[0].equity : 0;
  const first = marks.length ? marks[0].price : 0;
  const held = first > 0 ? marks : [];
  let peak = -Infinity;
  views.series.equity.setData(marks.map((m) => ({ time: t(m), value: m.equity })));
  views.series.hold.setData(held.map((m) => ({ time: t(m), value: budget * m.price / first })));
  views.series.under.setData(marks.map((m) => { peak = Math.max(peak, m.equity); return { time: t(m), value: (m.equity / peak - 1) * 100 }; }));
  equity.timeScale().fitContent();
  drawdown.timeScale().fitContent();
  $("equity-chart").dataset.points = String(marks.length);
  $("perf-info").textContent = `${marks.length} marks shown · bot ${pct(perf.total_return)} · buy & hold ${pct(perf.buy_and_hold_return)}`;
  const rows = [
    ["return", pct(perf.total_return)], ["buy & hold return", pct(perf.buy_and_hold_return)],
    ["Sharpe", sharpe(perf)], ["Sortino", perf.sortino === null ? html`n/a <span class="hint">(${perf.days} of ${perf.sharpe_min_days} days)</span>` : fmt(perf.sortino)],
    ["max drawdown", pct(perf.max_drawdown)], ["win rate", pct(perf.win_rate)], ["profit factor", fmt(perf.profit_factor)],
    ["avg win", fmt(perf.avg_win)], ["avg loss", fmt(perf.avg_loss)], ["exposure", pct(perf.exposure)],
    ["turnover", fmt(perf.turnover)], ["fees", fmt(perf.fees)], ["fills / round trips", `${perf.trades} / ${perf.round_trips}`],
    ["exits", Object.entries(perf.exits || {}).map(([k, v]) => `${k} ${v}`).join(", ") || "–"],
    ...perpetualRows(state.detail && state.detail.perpetual),
  ];
  put($("metrics").querySelector("tbody"), html`${rows.map(([k, v]) => html`<tr><th>${k}</th><td data-metric="${k}">${v}</td></tr>`)}`);
  put($("round-trips").querySelector("tbody"), html`${views.trips.slice().reverse().slice(0, 100).map((r) =>
    html`<tr><td>${r.side}</td><td>${r.symbol || state.detail.symbol}</td><td>${day(r.entry_time)}</td><td>${day(r.exit_time)}</td><td>${fmt(r.quantity, 5)}</td><td>${fmt(r.entry_price)}</td>
    <td>${fmt(r.exit_price)}</td><td class="${r.pnl >= 0 ? "buy" : "sell"}">${fmt(r.pnl)}</td><td>${fmt(r.fees, 4)}</td><td>${r.reason}</td></tr>`)}`);
  $("round-trips").dataset.rows = String(views.trips.length);
  $("trips-empty").hidden = views.trips.length > 0;
  $("trips-empty").textContent = "No closed round trip yet: a trip is counted when the position is back to flat.";
  put($("histogram"), histogram(dailyReturns(marks, budget)));
  renderPositions(state.detail && state.detail.positions);
  renderUniverse(state.detail && state.detail.universe);
  renderVenue(views.venue);
}

// A portfolio bot: each pair as it stands, and what it added to the bot's PnL (a perpetual
// portfolio's pairs also show where each would be liquidated and the funding it paid or got).
function renderPositions(pairs) {
  $("positions-box").hidden = !pairs;
  if (!pairs) return;
  const perp = pairs.some((p) => p.perpetual);
  $("positions").classList.toggle("spot", !perp);
  const margin = (p) => p.perpetual ? html`<td class="perp">${p.perpetual.liquidation_price === null ? "–" : fmt(p.perpetual.liquidation_price, 4)}</td>
    <td class="perp">${fmt(p.perpetual.funding)}</td>` : html``;
  put($("positions").querySelector("tbody"), html`${pairs.map((p) => html`<tr data-pair="${p.symbol}"><td>${p.symbol}</td>
    <td class="${p.side === "short" ? "sell" : ""}">${p.side}</td><td>${fmt(p.quantity, 5)}</td><td>${p.entry_price === null ? "–" : fmt(p.entry_price, 4)}</td>
    <td>${fmt(p.price, 4)}</td><td>${fmt(p.value)}</td><td>${fmt(p.open_pnl)}</td><td>${fmt(p.realized_pnl)}</td>
    <td class="${p.contribution >= 0 ? "buy" : "sell"}">${fmt(p.contribution)}</td><td>${pct(p.weight)}</td>${margin(p)}</tr>`)}`);
}

// A universe bot: which pairs it could enter when (each change of its picks).
function renderUniverse(changes) {
  $("universe-box").hidden = !changes;
  if (!changes) return;
  const rows = changes.slice().reverse().slice(0, 50);
  put($("universe").querySelector("tbody"), html`${rows.map((c) => html`<tr><td>${day(c.time)}</td>
    <td>${c.symbols.length ? c.symbols.join(", ") : "(none yet)"}</td></tr>`)}`);
  $("universe").dataset.rows = String(changes.length);
}

// A perpetual bot: where its position stands against liquidation, and what funding did.
function perpetualRows(p) {
  if (!p) return [];
  const liquidation = p.liquidation_price === null ? "–"
    : `${fmt(p.liquidation_price)} (${pct(p.liquidation_distance)} away)`;
  return [
    ["position", `${p.side} · ${p.leverage}x isolated`], ["margin", fmt(p.margin)],
    ["liquidation price", liquidation], ["margin ratio", pct(p.margin_ratio)],
    ["funding", `${fmt(p.funding)} ${p.funding >= 0 ? "received" : "paid"}`],
  ];
}

// A venue bot: its equity beside paper's, and every decision's price, fees and delay on each.
function renderVenue(d) {
  $("venue").hidden = !d;
  if (!d) return;
  $("venue-info").textContent = `${d.venue} · ${d.decisions} decisions · venue equity ${fmt(d.venue_equity)} vs paper ${fmt(d.paper_equity)}`
    + ` · venue − paper ${fmt(d.pnl_difference)} (price ${fmt(-d.price_cost)}, fees ${fmt(-d.fee_cost)}; unfilled notional ${fmt(d.unfilled_notional)})`
    + ` · mean ${fmt(d.mean_slippage_bps)} bps · median delay ${d.median_delay_ms === null ? "–" : d.median_delay_ms + " ms"}`
    + ` · ${d.partial_fills} partial · ${d.rejections} rejected`;
  put($("venue-chart"), divergenceChart(d.per_decision));
  put($("venue-decisions").querySelector("tbody"), html`${d.per_decision.slice().reverse().slice(0, 200).map((r) =>
    html`<tr class="${r.state === "REJECTED" ? "sell" : ""}"><td title="${r.client_id}">${r.decision}</td><td>${r.side}</td><td>${r.state}</td>
    <td>${fmt(r.paper_price)}</td><td>${fmt(r.venue_price)}</td><td>${fmt(r.slippage_bps)}</td><td>${fmt(r.paper_fee, 4)}</td><td>${fmt(r.venue_fee, 4)}</td>
    <td>${r.fills}</td><td>${r.delay_ms === null ? "–" : r.delay_ms}</td><td class="${r.difference >= 0 ? "buy" : "sell"}">${fmt(r.difference, 4)}</td><td>${r.error || "–"}</td></tr>`)}`);
  $("venue-decisions").dataset.rows = String(d.per_decision.length);
}

// Per decision: its slippage in bps (bars, worse for the bot upwards) and the running venue −
// paper PnL (the line), on one x axis of decisions.
function divergenceChart(rows, w = 860, h = 160) {
  if (!rows.length) return html`<p class="empty">No decision has reached the venue yet.</p>`;
  const bps = rows.map((r) => r.slippage_bps || 0), top = Math.max(1, ...bps.map(Math.abs));
  let run = 0;
  const total = rows.map((r) => (run += r.difference)), lo = Math.min(0, ...total), hi = Math.max(0, ...total), span = hi - lo || 1;
  const bw = w / rows.length, mid = h / 2;
  const bars = rows.map((r, i) => {
    const bh = (Math.abs(bps[i]) / top) * (mid - 4);
    return html`<rect x="${i * bw}" y="${bps[i] >= 0 ? mid - bh : mid}" width="${Math.max(1, bw - 1)}" height="${bh}" fill="${bps[i] > 0 ? "#f87171" : "#4ade80"}" opacity="0.6"><title>decision ${r.decision}: ${fmt(r.slippage_bps)} bps</title></rect>`;
  });
  const path = total.map((v, i) => `${(i + 0.5) * bw},${h - 4 - ((v - lo) / span) * (h - 8)}`).join(" ");
  return html`<svg class="divergence" width="${w}" height="${h}" data-decisions="${rows.length}">${bars}
    <line x1="0" x2="${w}" y1="${mid}" y2="${mid}" stroke="#475569"/><polyline fill="none" stroke="#60a5fa" stroke-width="1.5" points="${path}"/>
    <text x="2" y="12">±${fmt(top)} bps</text><text x="${w - 200}" y="12">venue − paper ${fmt(run)}</text></svg>`;
}

// The last mark of each UTC day against the previous day's (the first against the budget).
function dailyReturns(marks, budget) {
  const closes = new Map();
  for (const m of marks) closes.set(m.time.slice(0, 10), m.equity);
  let prev = budget;
  return [...closes.values()].map((e) => { const r = e / prev - 1; prev = e; return r; });
}

function histogram(returns, w = 420, h = 120) {
  if (!returns.length) return html`<p class="empty">No full day of equity marks yet.</p>`;
  const lo = Math.min(...returns, 0), hi = Math.max(...returns, 0), bins = Math.min(20, Math.max(5, returns.length));
  const width = (hi - lo) / bins || 1e-9, counts = new Array(bins).fill(0);
  for (const r of returns) counts[Math.min(bins - 1, Math.floor((r - lo) / width))]++;
  const top = Math.max(...counts), bw = w / bins;
  const bars = counts.map((c, i) => {
    const mid = lo + (i + 0.5) * width, bh = (c / top) * (h - 20);
    return html`<rect x="${i * bw + 1}" y="${h - 14 - bh}" width="${bw - 2}" height="${bh}" fill="${mid >= 0 ? "#4ade80" : "#f87171"}"><title>${(mid * 100).toFixed(2)}%: ${c} days</title></rect>`;
  });
  return html`<svg width="${w}" height="${h}" data-days="${returns.length}">${bars}<text x="0" y="${h - 2}">${(lo * 100).toFixed(2)}%</text>
    <text x="${w - 40}" y="${h - 2}">${(hi * 100).toFixed(2)}%</text></svg><div class="hint">${returns.length} days</div>`;
}

// -- Strategies ----------------------------------------------------------------------------
async function loadStrategies() {
  const [strategies, searches] = await Promise.all([api("/strategies"), api("/optimizations").catch((e) => ({ error: String(e) }))]);
  views.strategies = strategies;
  views.searches = searches;
  await Promise.all(state.bots.filter((b) => !views.details[b.name]).map(async (b) => { views.details[b.name] = await api(botPath(b.name)); }));
}

function renderStrategies() {
  if (!views.strategies) return;
  const searches = views.searches || {};
  put($("strategy-list"), html`${views.strategies.map((s) => {
    const names = [s.name, ...(s.aliases || [])];
    const users = Object.values(views.details).filter((d) => names.includes(d.strategy) || names.includes((d.spec.strategy || {}).type || "rsi"));
    const params = Object.entries(s.params || {}).map(([k, p]) => html`<tr><td>${k}</td><td>${p.type}</td><td>${JSON.stringify(p.default)}</td>
      <td>${bounds(p)}</td><td>${p.search ? JSON.stringify(p.search) : "–"}</td></tr>`);
    const found = (searches.searches || []).filter((r) => r.strategy === s.name || names.includes(r.strategy));
    const running = users.length ? users.map((d) => html`<div>${d.name}: ${JSON.stringify((d.spec.strategy || {}).params || {})}</div>`) : html`<div class="hint">none</div>`;
    return html`<div class="strategy" data-strategy="${s.name}"><h3>${s.name} <span class="hint">${(s.aliases || []).join(", ")} · ${s.source}</span></h3>
      <div>${s.description}</div>
      <table><thead><tr><th>parameter</th><th>type</th><th>default</th><th>bounds</th><th>search space</th></tr></thead><tbody>${params}</tbody></table>
      <div class="hint">exits: ${Object.keys(s.exits || {}).length ? JSON.stringify(s.exits) : "none declared (the bot's risk settings still apply)"}</div>
      <h2>Bots running it</h2>${running}<h2>Searches</h2>${searchesHtml(searches, found)}</div>`;
  })}`);
}

function bounds(p) {
  const parts = [["ge", "≥"], ["gt", ">"], ["le", "≤"], ["lt", "<"]].filter(([k]) => p[k] !== null && p[k] !== undefined).map(([k, s]) => `${s} ${p[k]}`);
  return parts.join(", ") || "–";
}

function searchesHtml(searches, found) {
  if (searches.error) return html`<div class="hint">${searches.error}</div>`;
  if (!searches.configured) return html`<div class="hint">No MLflow tracking server configured (set MLFLOW_TRACKING_URI) — run <code>botrader optimize</code> to search this strategy's space.</div>`;
  if (!found.length) return html`<div class="hint">No search yet: <code>botrader optimize --strategy NAME --data FILE --trials 200</code>.</div>`;
  return found.map((r) => html`<div class="verdict ${r.passes ? "pass" : "fail"}" data-search="${r.run_id || ""}">${r.verdict || ""} <span class="hint">${r.name || ""} ${r.run_id || ""}</span></div>`);
}

// -- AI Insights ---------------------------------------------------------------------------
async function loadInsights() {
  views.models = await api("/models").catch((e) => ({ error: String(e) }));
  followTraining();
}

// Training progress is pushed over /ws (the experiment's runs as they log), once per socket.
function followTraining() {
  if (!views.models || !views.models.configured || !live.open || views.following === live.socket) return;
  views.following = live.socket;
  const named = (views.models.models || []).flatMap((m) => m.versions.map((v) => v.experiment)).filter(Boolean);
  views.experiments = [...new Set(named.length ? named : [TRAINING])].slice(0, 5);
  live.socket.send(JSON.stringify({ subscribe: { experiments: views.experiments } }));
}

function receiveRuns(msg) {
  views.runs = views.runs || {};
  if (msg.type === "snapshot") for (const [id, run] of Object.entries(views.runs)) if (run.experiment === msg.experiment) delete views.runs[id];
  for (const run of msg.runs) views.runs[run.run_id] = { ...run, experiment: msg.experiment };
}

function runsHtml() {
  const runs = Object.values(views.runs || {}).sort((a, b) => (b.started || 0) - (a.started || 0)).slice(0, 8);
  if (!runs.length) return html``;
  const num = (v) => (v === undefined || v === null ? "–" : Number(v).toPrecision(4));
  const rows = runs.map((r) => html`<tr data-run="${r.run_id}"><td>${r.name || r.run_id}</td><td>${r.resource || ""}</td>
    <td class="phase ${r.status}">${r.status}</td><td>${num(r.metrics.val_sharpe)}</td><td>${num(r.metrics.val_return)}</td><td>${r.verdict || ""}</td></tr>`);
  return html`<h2>Training runs (${(views.experiments || [TRAINING]).join(", ")}, live)</h2><table class="runs"><thead><tr><th>run</th><th>TrainingRun</th><th>status</th>
    <th>val Sharpe</th><th>val return</th><th>verdict</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function renderInsights() {
  const d = state.detail;
  if (!d) return;
  const strategy = (d.spec.strategy || {}).type || "rsi";
  const decision = d.last_decision;
  const latest = decision ? html`<h2>Latest decision</h2>${decisionHtml(decision, (a) => bars(a, "top attributions"))}` : html``;
  if (strategy !== "ppo") {
    put($("insights"), html`<div class="insight" data-insight="rule"><h3>${d.name} runs the rule strategy ${strategy}: it has no model</h3>
      <div>Rule strategies explain each decision with the indicator values they compared (below). To trade a learned policy,
      train one (<code>botrader train</code> or a TrainingRun) and point a TradingBot's <code>strategy.params.model</code> at it.</div>${latest}${runsHtml()}</div>`);
    return;
  }
  const ref = String(d.spec.strategy.modelRef || (d.spec.strategy.params || {}).model || "");
  const { model, version } = findModel(views.models || {}, ref);
  put($("insights"), html`<div class="insight" data-insight="ppo"><h3>${d.name}: PPO policy</h3>${modelCard(views.models || {}, ref, model, version)}${latest}${runsHtml()}</div>`);
}

// modelRef: a TrainingRun's name, models:/NAME/VERSION, models:/NAME@alias, or a directory.
function findModel(models, ref) {
  const name = ref.startsWith("models:/") ? ref.slice(8).split(/[/@]/)[0] : null;
  const wanted = ref.startsWith("models:/") ? ref.slice(8).split("/")[1] : null;
  let model = null, version = null;
  for (const m of models.models || []) {
    for (const v of m.versions) {
      const hit = (m.name === name && (!wanted || String(v.version) === wanted)) || (v.training_run && v.training_run === ref);
      if (hit && (!version || Number(v.version) > Number(version.version))) { model = m; version = v; }
    }
  }
  return { model, version };
}

function modelCard(models, ref, model, version) {
  const head = html`<div class="hint">model ${ref}</div>`;
  if (models.error) return html`${head}<div class="hint">${models.error}</div>`;
  if (!models.configured) return html`${head}<div class="hint">No MLflow tracking server configured (MLFLOW_TRACKING_URI): the model card comes from its registry.</div>`;
  if (!version) return html`${head}<div class="hint">${ref} is not in the registry at ${models.tracking_uri} (a model directory has no card).</div>`;
  const metrics = Object.entries(version.metrics || {}).map(([k, v]) => html`<tr><td>${k}</td><td>${Math.abs(v) >= 1000 || Number.isInteger(v) ? fmt(v, 0) : Number(v).toPrecision(4)}</td></tr>`);
  const aliases = (version.aliases || []).length ? " @" + version.aliases.join(", @") : "";
  return html`${head}<div>${model.name} version ${version.version}${aliases} · run ${runLink(models.tracking_uri, version.run_id)}${version.training_run ? " · TrainingRun " + version.training_run : ""}</div>
    ${architectureHtml(version.architecture || {})}${versusHtml(version.baselines || {})}
    ${version.verdict ? html`<div class="verdict">${version.verdict}</div>` : ""}
    <h2>Training and validation metrics</h2><table><tbody>${metrics}</tbody></table>${bars(version.attributions || {}, "feature importance (training attributions)")}`;
}

// A tracking server's UI opens a run by id (MLflow's /#/runs/ID); a local store has no UI to link.
function runLink(uri, runId) {
  if (!/^https?:\/\//.test(uri || "")) return html`${runId}`;
  return html`<a href="${uri.replace(/\/$/, "")}/#/runs/${encodeURIComponent(runId)}" target="_blank" rel="noopener noreferrer">${runId}</a>`;
}

function architectureHtml(a) {
  if (!a.actor) return html`<div class="hint">no architecture logged (a model trained before the card carried it)</div>`;
  return html`<h2>Network</h2><div data-architecture>actor ${a.actor.join(" → ")} · critic ${a.critic.join(" → ")} · ${a.activation} ·
    ${Number(a.parameters).toLocaleString()} parameters</div><div class="hint">features v${a.feature_version}: ${(a.features || []).join(", ")}</div>`;
}

function versusHtml(b) {
  const rows = Object.entries(b).map(([k, f]) => html`<tr><td>${k}</td><td>${pct(f.return)}</td><td>${f.sharpe === null ? "n/a" : fmt(f.sharpe)}</td>
    <td>${pct(f.max_drawdown)}</td><td>${f.trades}</td></tr>`);
  return rows.length ? html`<h2>Validation and test against the baselines</h2><table><thead><tr><th>on the test period unless named</th><th>return</th><th>Sharpe</th><th>max drawdown</th><th>fills</th></tr></thead><tbody>${rows}</tbody></table>` : html``;
}

function bars(values, title, w = 420) {
  const entries = Object.entries(values).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, 15);
  if (!entries.length) return html``;
  const top = Math.max(...entries.map(([, v]) => Math.abs(v))) || 1;
  const rows = entries.map(([k, v], i) => html`<text x="0" y="${i * 18 + 12}">${k}</text>
    <rect class="bar" x="150" y="${i * 18 + 2}" width="${(Math.abs(v) / top) * (w - 220)}" height="12" fill="${v >= 0 ? "#60a5fa" : "#f59e0b"}"><title>${v}</title></rect>
    <text x="${w - 60}" y="${i * 18 + 12}">${Number(v).toFixed(3)}</text>`);
  return html`<h2>${title}</h2><svg width="${w}" height="${entries.length * 18 + 4}">${rows}</svg>`;
}

// -- Audit log -----------------------------------------------------------------------------
function renderAuditView() {
  const select = $("audit-bot"), chosen = select.value;
  put(select, html`<option value="">all bots</option>${state.bots.map((b) => html`<option>${b.name}</option>`)}`);
  select.value = chosen;
  put($("audit-all").querySelector("tbody"), html`${views.audit.map((a) =>
    html`<tr><td>${day(a.time)}</td><td>${a.bot}</td><td>${a.actor}</td><td>${a.action}</td>
    <td>${JSON.stringify(a.before)}</td><td>${JSON.stringify(a.after)}</td></tr>`)}`);
  $("audit-all").dataset.rows = String(views.audit.length);
  $("audit-empty").hidden = views.audit.length > 0;
}

$("audit-bot").addEventListener("change", () => loadView());
main();
