// The Overview of many bots, cold: from navigation to every row and sparkline drawn. Usage:
//   node overview.mjs URL SCREENSHOT_DIR     prints {"rows", "sparklines", "ms"}
import { chromium } from "playwright-core";

const [url, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url + "?tab=overview", { waitUntil: "commit" });
  await page.waitForFunction(() => document.querySelectorAll("#bots svg.spark").length >= 20, null, { timeout: 30000 });
  const ms = await page.evaluate(() => performance.now());
  const rows = await page.locator("#bots tbody tr").count();
  const sparklines = await page.locator("#bots svg.spark").count();
  await page.screenshot({ path: `${shots}/overview-20-bots.png` });
  if (errors.length) throw new Error("page errors: " + errors.join("; "));
  console.log(JSON.stringify({ rows, sparklines, ms }));
} catch (err) {
  console.error(String(err));
  await browser.close();
  process.exit(1);
}
await browser.close();
