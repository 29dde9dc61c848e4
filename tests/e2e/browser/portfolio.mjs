// A portfolio bot's Performance tab: one Positions row per pair, round trips naming their pair,
// no page error. Usage: node portfolio.mjs URL BOT SCREENSHOT_DIR
import { launch } from "./launch.mjs";

const [url, bot, shots] = process.argv.slice(2);
const { browser, fail } = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${url}?tab=performance&bot=${bot}`);
  await page.waitForFunction(() => document.querySelectorAll("#positions tbody tr").length > 0 &&
    Number(document.getElementById("round-trips").dataset.rows) > 0, null, { timeout: 20000 });
  const shown = await page.evaluate(() => {
    const rows = [...document.querySelectorAll("#positions tbody tr")];
    const pairs = rows.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent));
    const tripPairs = [...document.querySelectorAll("#round-trips tbody tr td:nth-child(2)")].map((td) => td.textContent);
    const said = document.getElementById("error") ? document.getElementById("error").textContent : "";
    return { pairs, tripPairs: [...new Set(tripPairs)].sort(), boxHidden: document.getElementById("positions-box").hidden, error: said };
  });
  await page.screenshot({ path: `${shots}/tab-performance-portfolio.png`, fullPage: true });
  if (shown.boxHidden) await fail("the positions table is hidden");
  await page.goto(`${url}?tab=overview&bot=${bot}`);  // the candle chart: the first pair's
  await page.waitForFunction(() => Number(document.getElementById("chart").dataset.candles || 0) > 0, null, { timeout: 20000 });
  shown.candles = await page.evaluate(() => Number(document.getElementById("chart").dataset.candles));
  shown.error = await page.evaluate(() => document.getElementById("error").textContent);
  await page.screenshot({ path: `${shots}/tab-overview-portfolio.png`, fullPage: true });
  if (shown.error) await fail(`the page says: ${shown.error}`);
  if (errors.length) await fail("page errors: " + errors.join("; "));
  console.log(JSON.stringify(shown));
} catch (err) {
  await fail(String(err));
} finally {
  await browser.close();
}
