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

test('a warm reload of / transfers only the page: the hashed wasm, JS and CSS come from the cache', async () => {
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/`);
  await waitForHydration(page);
  // Bytes on the wire (headers included) of every request the reload makes, as Chromium's network stack
  // counts them; a response from the cache counts nothing.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const urls = new Map();
  const bytes = new Map();
  const cached = new Set();
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.dataReceived', (e) => bytes.set(e.requestId, (bytes.get(e.requestId) ?? 0) + e.encodedDataLength));
  cdp.on('Network.loadingFinished', (e) => bytes.set(e.requestId, e.encodedDataLength));
  cdp.on('Network.requestServedFromCache', (e) => cached.add(e.requestId));
  await page.reload();
  await waitForHydration(page);
  await new Promise((r) => setTimeout(r, 500));
  const fetched = [...urls].filter(([id]) => !cached.has(id) && (bytes.get(id) ?? 0) > 0);
  const total = fetched.reduce((sum, [id]) => sum + bytes.get(id), 0);
  const what = fetched.map(([id, url]) => `${url} ${bytes.get(id)} B`).join(', ');
  assert.ok(fetched.every(([, url]) => !/\/pkg\/.*\.(wasm|js|css)$/.test(url)), `no bundle file is fetched again: ${what}`);
  assert.ok(total < 10 * 1024, `a warm reload transfers ${total} B (under 10 KB): ${what}`);
  assert.deepEqual(page.problems, []);
  await context.close();
});
