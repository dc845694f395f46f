// Shared set-up for the end-to-end tests: Debian's Chromium, headless, with the flags this sandbox needs,
// and a page that records console errors and failed requests so every test can assert there were none.
import { chromium } from 'playwright-core';

export const BASE = process.env.STEPLINE_URL ?? 'http://127.0.0.1:3000';
/** The base path Stepline is served under (`--base-path`): '' at the root, else like '/stepline'. */
export const PREFIX = new URL(BASE).pathname.replace(/\/$/, '');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/** A fresh context and page; `page.problems` collects console errors, page errors and failed requests. */
export async function openPage(browser, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (msg) => {
    // A failed load is reported by the 'response' listener with its URL; skip Chromium's URL-less echo.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) page.problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on('response', (res) => {
    if (res.status() >= 400 && !page.expectedErrors?.some((re) => re.test(res.url()))) {
      page.problems.push(`http ${res.status()}: ${res.url()}`);
    }
  });
  // A request cut short by navigating away (an open event stream, say) is normal.
  page.on('requestfailed', (req) => {
    if (req.failure()?.errorText !== 'net::ERR_ABORTED') page.problems.push(`requestfailed: ${req.url()} ${req.failure()?.errorText}`);
  });
  return { context, page };
}

/** Resolves once the wasm bundle has hydrated the page (the body gets data-hydrated). */
export async function waitForHydration(page) {
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 20000 });
}
