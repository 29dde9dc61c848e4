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

// One page in Chromium: `body(page, fail)` drives it and returns what it saw; a page error
// fails the check; what it saw is printed as the last line (JSON) for the Python test.
export async function check(body) {
  const { browser, fail } = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const shown = await body(page, fail);
    if (errors.length) await fail("page errors: " + errors.join("; "));
    console.log(JSON.stringify(shown));
  } catch (err) {
    await fail(String(err));
  } finally {
    await browser.close();
  }
}
