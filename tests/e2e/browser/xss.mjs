// Opens every tab of a dashboard whose data carries planted markup (a strategy's explanation
// and reason, an audit actor and reason, a failed bot's message, a search's name and verdict, a
// training run's name, a venue's rejection) and checks that none of it ran: the flag the payload would set stays
// unset, no element it would create exists, the page reports no CSP violation, and the payload
// is shown literally as text. Prints a JSON summary. Usage:
//   node xss.mjs URL BOT FAILED_BOT MARKER SCREENSHOT_DIR
import { chromium } from "playwright-core";

const [url, bot, failed, marker, shots] = process.argv.slice(2);
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
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const shown = {};
  // Each tab, and the text in it that must show the marker literally.
  const tabs = [
    ["overview", "#strategy", bot], ["overview", "#audit", bot], ["overview", "#bots", bot],
    ["performance", "#venue-decisions", bot], ["strategies", "#strategy-list", bot],
    ["insights", "#insights", bot], ["audit", "#audit-all", bot], ["overview", "#breakers", failed],
  ];
  for (const [tab, selector, name] of tabs) {
    await page.goto(`${url}?tab=${tab}&bot=${name}`);
    await page.waitForFunction((t) => document.body.dataset.loaded === t, tab, { timeout: 20000 });
    if (!selector) { await page.waitForTimeout(500); }
    else {
    await page.waitForFunction(([s, m]) => (document.querySelector(s) || {}).textContent?.includes(m), [selector, marker], { timeout: 20000 })
      .catch(async () => fail(`${tab}: ${selector} never showed the planted text: ${await page.locator(selector).textContent()}`));
    if (tab === "insights") {  // the training runs arrive over /ws
      await page.waitForFunction((m) => [...document.querySelectorAll("table.runs td")].some((td) => td.textContent.includes(m)), marker, { timeout: 20000 })
        .catch(async () => fail(`insights: the planted run name never showed: ${await page.locator("#insights").textContent()}`));
    }
    const text = await page.locator(selector).textContent();
    shown[`${tab} ${selector}`] = text.split(marker).length - 1;
    }
    await page.screenshot({ path: `${shots}/xss-${tab}.png`, fullPage: true });
    const ran = await page.evaluate(() => ({ flag: window.__pwned ?? null, planted: document.querySelectorAll("img[src='x'], [onerror], script:not([src])").length,
      violations: window.__violations }));
    if (ran.flag !== null || ran.planted > 0) await fail(`${tab}: planted markup became part of the page: ${JSON.stringify(ran)}`);
    if (ran.violations.length) await fail(`${tab}: the page broke its own Content-Security-Policy: ${ran.violations.join(", ")}`);
  }
  if (errors.length) await fail(`page errors: ${errors.join("; ")}`);
  console.log(JSON.stringify({ shown }));
} finally {
  await browser.close();
}
