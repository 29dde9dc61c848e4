// Two bots, one PPO: the Overview lists both, AI Insights shows the PPO model's card with
// feature-importance bars and the latest decision's attributions, the rule bot says it has no
// model; the training runs table arrives over /ws. Usage: node insights.mjs URL PPO_BOT RULE_BOT SCREENSHOT_DIR
import { chromium } from "playwright-core";

const [url, ppo, rule, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const fail = async (message) => { console.error(message); await browser.close(); process.exit(1); };
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${url}?tab=overview&bot=${ppo}`);
  await page.waitForFunction(() => Number(document.getElementById("bots").dataset.rows) === 2 &&
    document.querySelectorAll("#bots svg.spark").length === 2, null, { timeout: 20000 });
  await page.screenshot({ path: `${shots}/two-bots-overview.png` });
  await page.click('#tabs button[data-tab="insights"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-insight="ppo"] rect.bar').length > 0, null, { timeout: 20000 });
  const card = await page.evaluate(() => ({
    bars: document.querySelectorAll('[data-insight="ppo"] rect.bar').length,
    architecture: (document.querySelector("[data-architecture]") || {}).textContent || "",
    text: document.querySelector('[data-insight="ppo"]').textContent,
  }));
  if (!/parameters/.test(card.architecture) || !/buy_and_hold/.test(card.text)) await fail(`no architecture or baselines: ${card.text.slice(0, 400)}`);
  if (!/version \d+/.test(card.text) || !/feature importance/.test(card.text) || !/confidence/.test(card.text)) {
    await fail(`the model card lacks its version, importance or decision: ${card.text.slice(0, 400)}`);
  }
  // the training run that made the model, pushed over /ws from the MLflow experiment
  await page.waitForFunction(() => /FINISHED/.test((document.querySelector("table.runs tr[data-run]") || {}).textContent || ""), null, { timeout: 20000 });
  await page.screenshot({ path: `${shots}/tab-insights-ppo.png`, fullPage: true });
  await page.selectOption("#bot", rule);
  await page.waitForFunction(() => /has no model/.test((document.querySelector('[data-insight="rule"]') || {}).textContent || ""), null, { timeout: 20000 });
  if (!new URL(page.url()).search.includes(`bot=${rule}`)) await fail(`the URL kept the old bot: ${page.url()}`);
  if (errors.length) await fail("page errors: " + errors.join("; "));
  console.log(JSON.stringify({ rows: 2, bars: card.bars, architecture: card.architecture }));
} catch (err) {
  await fail(String(err));
}
await browser.close();
