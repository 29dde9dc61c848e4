// Chromium as the browser checks start it, and how they fail: one line on stderr, exit 1.
import { chromium } from "playwright-core";

export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const fail = async (message) => { console.error(message); await browser.close(); process.exit(1); };
  return { browser, fail };
}
