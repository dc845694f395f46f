import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, openPage, waitForHydration } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the first page is rendered on the server and references the wasm bundle', async () => {
  const res = await fetch(`${BASE}/`);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<h1>Pipelines/);
  assert.match(html, /\/pkg\/stepline[^"']*\.js/);
  assert.match(html, /\/pkg\/stepline[^"']*\.wasm/);
});

test('the wasm bundle loads and hydrates with no console errors', async () => {
  const { context, page } = await openPage(browser);
  const wasm = page.waitForResponse((r) => r.url().endsWith('.wasm') && r.status() === 200);
  await page.goto(`${BASE}/`);
  await wasm;
  await waitForHydration(page);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a click after hydration changes the page: the theme toggle pins dark, then light', async () => {
  const { context, page } = await openPage(browser, { colorScheme: 'light' });
  await page.goto(`${BASE}/`);
  await waitForHydration(page);
  const toggle = page.getByTestId('theme-toggle');
  assert.equal(await toggle.textContent(), 'Theme: system');
  await toggle.click();
  assert.equal(await toggle.textContent(), 'Theme: dark');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(17, 20, 24)');
  // The choice survives a reload.
  await page.reload();
  await waitForHydration(page);
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('an unknown path answers 404 with a page that says so', async () => {
  const res = await fetch(`${BASE}/no/such/page`);
  assert.equal(res.status, 404);
  assert.match(await res.text(), /Not found/);
});
