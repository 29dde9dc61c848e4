// A perpetual bot's Performance tab: its position, margin, liquidation price, margin ratio and
// funding rows, and round trips that say long or short. Usage: node perpetual.mjs URL BOT SCREENSHOT_DIR
import { check } from "./launch.mjs";

const [url, bot, shots] = process.argv.slice(2);
await check(async (page, fail) => {
  await page.goto(`${url}?tab=performance&bot=${bot}`);
  await page.waitForFunction(() => document.querySelector('#metrics td[data-metric="funding"]') &&
    Number(document.getElementById("round-trips").dataset.rows) > 0, null, { timeout: 20000 });
  const shown = await page.evaluate(() => {
    const cell = (k) => (document.querySelector(`#metrics td[data-metric="${k}"]`) || {}).textContent || "";
    const sides = [...document.querySelectorAll("#round-trips tbody tr td:first-child")].map((td) => td.textContent);
    return { position: cell("position"), margin: cell("margin"), liquidation: cell("liquidation price"),
      ratio: cell("margin ratio"), funding: cell("funding"), sides: [...new Set(sides)].sort() };
  });
  await page.screenshot({ path: `${shots}/tab-performance-perpetual.png`, fullPage: true });
  if (!/isolated/.test(shown.position) || !/(received|paid)/.test(shown.funding)) await fail(`no perpetual rows: ${JSON.stringify(shown)}`);
  return shown;
});
