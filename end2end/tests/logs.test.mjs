// A step's job logs on the execution page, in Chromium: the live tail, the whole log of 100,000 lines
// drawn as a window, the failure excerpt, and the tab without JavaScript.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, openPage, waitForHydration } from './browser.mjs';
import { call, executions, idOf, scenario, steps } from './sagemaker.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await scenario({}); await browser?.close(); });

async function startAbalone(name) {
  const out = await call('StartPipelineExecution', {
    PipelineName: 'AbalonePipeline', PipelineExecutionDisplayName: name, ClientRequestToken: `${name}-${Date.now()}`.padEnd(40, '0'),
  });
  return out.PipelineExecutionArn;
}

async function waitForStep(arn, step, statuses, timeoutMs = 120000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const s = (await steps(arn)).find((x) => x.StepName === step);
    if (s && statuses.includes(s.StepStatus)) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${step} never reached ${statuses}`);
}

const lineCount = (page) => page.getByTestId('log-lines').locator('.ll').count();

test("a running step's log grows in the browser without a reload", async () => {
  // About 10 lines a second for five minutes at the demo's speed.
  await scenario({ pipelines: { AbalonePipeline: { steps: { AbaloneProcess: { duration: 6000, log_lines: 3000 } } } } });
  const arn = await startAbalone('logs-live');
  await waitForStep(arn, 'AbaloneProcess', ['Executing']);
  const { context, page } = await openPage(browser);
  const url = `${BASE}/pipelines/AbalonePipeline/executions/${idOf(arn)}?tab=logs&step=AbaloneProcess`;
  // The first stream may take a moment to appear.
  for (let i = 0; i < 40; i++) {
    await page.goto(url);
    if (await page.getByTestId('log-lines').count()) break;
    await page.waitForTimeout(500);
  }
  await waitForHydration(page);
  const first = await lineCount(page);
  const lastBefore = await page.getByTestId('log-lines').locator('.ll .ln').last().textContent();
  await page.getByTestId('logs').getByTestId('live-state').filter({ hasText: 'live' }).waitFor({ timeout: 10000 });
  await page.waitForFunction(
    ([n]) => document.querySelectorAll('[data-testid=log-lines] .ll').length > n + 5,
    [first],
    { timeout: 15000 },
  );
  // Numbered on from where the page left off, with no gap.
  const numbers = await page.getByTestId('log-lines').locator('.ll .ln').allTextContents();
  const at = numbers.indexOf(lastBefore);
  assert.ok(at >= 0);
  assert.equal(Number(numbers[at + 1]), Number(lastBefore) + 1);
  assert.deepEqual(page.problems, []);
  await call('StopPipelineExecution', { PipelineExecutionArn: arn, ClientRequestToken: `stop-${Date.now()}`.padEnd(40, '0') });
  await context.close();
});

test('the whole log of 100,000 lines opens and scrolls, drawing only the rows on screen', async () => {
  await scenario({ pipelines: { AbalonePipeline: { steps: { AbaloneProcess: { duration: 60, log_lines: 100000 } } } } });
  const arn = await startAbalone('logs-big');
  await waitForStep(arn, 'AbaloneProcess', ['Succeeded', 'Failed']);
  await scenario({});
  const { context, page } = await openPage(browser);
  const t0 = Date.now();
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${idOf(arn)}?tab=logs&step=AbaloneProcess`);
  await waitForHydration(page);
  const interactive = Date.now() - t0;
  assert.equal(await lineCount(page), 1000, 'the newest 1,000 lines first');
  const total = Number((await page.getByTestId('log-total').textContent()).replace(/[^0-9]/g, ''));
  assert.ok(total >= 99000, `about 100,000 lines: ${total}`);
  const t1 = Date.now();
  await page.getByTestId('whole-log').click();
  // Every line is loaded when line 1 can be scrolled to; only a window of rows is in the page.
  await page.waitForFunction(() => !document.querySelector('[data-testid=whole-log]'), null, { timeout: 60000 });
  const loaded = Date.now() - t1;
  const rows = await lineCount(page);
  assert.ok(rows < 400, `only the rows on screen are drawn: ${rows}`);
  const log = page.getByTestId('log-lines');
  const t2 = Date.now();
  await log.evaluate((el) => { el.scrollTop = el.scrollHeight / 2; });
  await page.waitForFunction((half) => {
    const nums = [...document.querySelectorAll('[data-testid=log-lines] .ll .ln')].map((a) => Number(a.textContent));
    return nums.some((n) => Math.abs(n - half) < 200);
  }, Math.round(total / 2), { timeout: 5000 });
  const scrolled = Date.now() - t2;
  await log.evaluate((el) => { el.scrollTop = 0; });
  await page.waitForFunction(() => document.querySelector('[data-testid=log-lines] .ll .ln')?.textContent === '1', null, { timeout: 5000 });
  console.log(`logs bench: 100,000-line tab interactive in ${interactive} ms; whole log loaded in ${loaded} ms; scroll to the middle drawn in ${scrolled} ms; ${rows} rows in the page`);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("a failed step's traceback is in the execution's header, one click from the full log", async () => {
  const list = await executions('AbalonePipeline');
  const failed = list.find((x) => x.PipelineExecutionDisplayName === 'capacity-shortage');
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${idOf(failed.PipelineExecutionArn)}`);
  await waitForHydration(page);
  const excerpt = page.getByTestId('failure-log').first();
  await excerpt.waitFor();
  assert.match(await excerpt.textContent(), /Traceback \(most recent call last\)|Error/);
  await page.getByTestId('failure-log-link').first().click();
  await page.waitForURL(/tab=logs&step=AbaloneTrain#L\d+/);
  // The link names the line; after a client-side navigation the browser does not apply :target, so the
  // line is found by the id the URL's fragment names.
  const id = new URL(page.url()).hash.slice(1);
  const target = page.locator(`[id="${id}"]`);
  await target.waitFor();
  assert.match(await target.textContent(), /Traceback|Error/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('without JavaScript the logs tab shows the tail, searches the stream and pages back', async () => {
  const list = await executions('AbalonePipeline');
  const ok = list.find((x) => x.PipelineExecutionDisplayName === 'nightly-baseline');
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${idOf(ok.PipelineExecutionArn)}?tab=logs&step=AbaloneTrain`);
  const lines = page.getByTestId('log-lines').locator('.ll');
  assert.ok((await lines.count()) > 10);
  const firstText = await lines.nth(2).locator('.lm').textContent();
  const term = firstText.trim().split(/\s+/).find((w) => /^[A-Za-z]{4,}$/.test(w)) ?? 'epoch';
  await page.getByRole('searchbox').fill(term);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/[?&]q=/);
  const marks = page.getByTestId('log-search').locator('mark');
  assert.ok((await marks.count()) > 0, 'matches are highlighted');
  assert.equal(await marks.first().textContent(), term);
  // The download is plain text.
  const href = await page.getByTestId('download-log').getAttribute('href');
  const res = await fetch(new URL(href, BASE));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  await context.close();
});
