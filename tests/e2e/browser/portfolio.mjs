// A portfolio bot's Performance tab: one Positions row per pair, round trips naming their pair,
// a universe bot's picks (each change), no page error. Usage: node portfolio.mjs URL BOT SCREENSHOT_DIR
import { check } from "./launch.mjs";

const [url, bot, shots] = process.argv.slice(2);
await check(async (page, fail) => {
  await page.goto(`${url}?tab=performance&bot=${bot}`);
  await page.waitForFunction(() => document.querySelectorAll("#positions tbody tr").length > 0 &&
    Number(document.getElementById("round-trips").dataset.rows) > 0, null, { timeout: 20000 });
  const shown = await page.evaluate(() => {
    const rows = [...document.querySelectorAll("#positions tbody tr")];
    const pairs = rows.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent));
    const tripPairs = [...document.querySelectorAll("#round-trips tbody tr td:nth-child(2)")].map((td) => td.textContent);
    const universe = [...document.querySelectorAll("#universe tbody tr")].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent));
    const perpColumns = [...document.querySelectorAll("#positions th.perp")].map((th) => getComputedStyle(th).display !== "none");
    const sides = [...document.querySelectorAll("#round-trips tbody tr td:nth-child(1)")].map((td) => td.textContent);
    return { pairs, tripPairs: [...new Set(tripPairs)].sort(), boxHidden: document.getElementById("positions-box").hidden,
      perpColumns, tripSides: [...new Set(sides)].sort(),
      universe, universeHidden: document.getElementById("universe-box").hidden };
  });
  await page.screenshot({ path: `${shots}/tab-performance-portfolio.png`, fullPage: true });
  if (shown.boxHidden) await fail("the positions table is hidden");
  await page.goto(`${url}?tab=overview&bot=${bot}`);  // the candle chart: the first pair's
  await page.waitForFunction(() => Number(document.getElementById("chart").dataset.candles || 0) > 0, null, { timeout: 20000 });
  shown.candles = await page.evaluate(() => Number(document.getElementById("chart").dataset.candles));
  shown.botRow = await page.evaluate(() => [...document.querySelectorAll("#bots tbody tr:first-child td")].map((td) => td.textContent));
  shown.error = await page.evaluate(() => document.getElementById("error").textContent);
  await page.screenshot({ path: `${shots}/tab-overview-portfolio.png`, fullPage: true });
  if (shown.error) await fail(`the page says: ${shown.error}`);
  return shown;
});
