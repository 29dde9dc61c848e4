// Drives the dashboard in Debian's Chromium: candles render, a trade marker appears once
// the trader trades, new candles and fills arrive over /ws without a poll, and the Stop
// button changes the bot's phase. Usage:
//   node dashboard.mjs URL TOKEN SCREENSHOT_DIR
import { chromium } from "playwright-core";

const [url, token, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const fail = async (message) => { console.error(message); await browser.close(); process.exit(1); };
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const reads = [];
  page.on("request", (r) => { if (/\/(candles|bots\/[^/]+\/trades)\b/.test(r.url())) reads.push(r.url()); });
  await page.goto(url);
  await page.waitForFunction(() => Number(document.getElementById("chart").dataset.candles || 0) > 50, null, { timeout: 30000 });
  await page.waitForFunction(() => Number(document.getElementById("chart").dataset.markers || 0) > 0, null, { timeout: 60000 });
  // Live: once the socket is open, candles and fills keep coming with no /candles or /trades read.
  await page.waitForFunction(() => document.body.dataset.live === "1", null, { timeout: 10000 });
  const polled = reads.length;
  const seen = await page.evaluate(() => ({ candle: Number(document.getElementById("chart").dataset.lastCandle),
    fills: Number(document.getElementById("trades").dataset.total) }));
  await page.waitForFunction((s) => Number(document.getElementById("chart").dataset.lastCandle) > s.candle &&
    Number(document.getElementById("trades").dataset.total) > s.fills, seen, { timeout: 30000 });
  const pushed = await page.evaluate(() => ({ candle: Number(document.getElementById("chart").dataset.lastCandle),
    fills: Number(document.getElementById("trades").dataset.total) }));
  if (reads.length !== polled) await fail(`the page polled while live: ${reads.slice(polled).join(", ")}`);
  const canvases = await page.locator("#chart canvas").count();
  if (canvases === 0) await fail("the chart drew no canvas");
  const rows = await page.locator("#trades tbody tr").count();
  if (rows === 0) await fail("no trade in the trade table");
  const sharpe = await page.locator('[data-card="Sharpe"]').textContent();
  if (!/^n\/a \(\d+ of 30 days\)$/.test(sharpe)) await fail(`two days of replay must show no Sharpe, got ${sharpe}`);
  await page.screenshot({ path: `${shots}/dashboard.png` });
  await page.fill("#token", token);
  await page.click("#stop");
  await page.waitForFunction(() => document.getElementById("phase").textContent === "Paused", null, { timeout: 10000 });
  await page.click('.intervals button[data-interval="5m"]');
  await page.waitForFunction(() => document.getElementById("chart-info").textContent.includes("candles"), null, { timeout: 10000 });
  await page.screenshot({ path: `${shots}/dashboard-paused-5m.png` });
  const audit = await page.locator("#audit tbody tr").count();
  if (audit === 0) await fail("the stop did not reach the audit log");
  // Every tab renders real data; each is kept as a screenshot.
  const overview = await page.evaluate(() => ({ rows: Number(document.getElementById("bots").dataset.rows),
    spark: Number((document.querySelector("#bots svg.spark") || { dataset: {} }).dataset.points || 0) }));
  if (overview.rows < 1 || overview.spark < 2) await fail(`overview: ${JSON.stringify(overview)}`);
  await page.screenshot({ path: `${shots}/tab-overview.png` });
  const tab = async (name, ready) => {
    await page.click(`#tabs button[data-tab="${name}"]`);
    await page.waitForFunction((n) => document.body.dataset.loaded === n, name, { timeout: 10000 });
    await page.waitForFunction(ready, null, { timeout: 10000 });
    await page.screenshot({ path: `${shots}/tab-${name}.png` });
  };
  await tab("performance", () => Number(document.getElementById("equity-chart").dataset.points) > 100 &&
    Number(document.getElementById("round-trips").dataset.rows) > 0 && document.querySelectorAll("#metrics tr").length > 10 &&
    document.querySelectorAll("#histogram rect").length > 0);
  await tab("strategies", () => /Bots running it/.test((document.querySelector('[data-strategy="simple_rsi"]') || {}).textContent || "") &&
    document.querySelector('[data-strategy="simple_rsi"]').textContent.includes("btc-replay"));
  await tab("insights", () => /has no model/.test((document.querySelector('[data-insight="rule"]') || {}).textContent || ""));
  await tab("audit", () => Number(document.getElementById("audit-all").dataset.rows) > 0);
  const link = page.url();
  if (!/tab=audit/.test(link) || !/bot=btc-replay/.test(link)) await fail(`the URL does not hold the view: ${link}`);
  const again = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await again.goto(link.replace("tab=audit", "tab=performance"));
  await again.waitForFunction(() => document.body.dataset.loaded === "performance" &&
    !document.getElementById("view-performance").hidden && Number(document.getElementById("equity-chart").dataset.points) > 100, null, { timeout: 10000 });
  const tabs = ["overview", "performance", "strategies", "insights", "audit"];
  if (errors.length) await fail("page errors: " + errors.join("; "));
  console.log(JSON.stringify({ canvases, rows, audit, sharpe, phase: "Paused", seen, pushed, live: true, overview, tabs, link }));
} catch (err) {
  await fail(String(err));
}
await browser.close();
