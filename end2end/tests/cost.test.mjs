// Estimated costs in the browser: the execution's total and each step's cost (in the cost panel without
// JavaScript; in the step table and the timeline's tooltips once the browser has it), the pipeline's
// trend with a bar per run, and the CSV of the estimates.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, openPage, waitForHydration } from './browser.mjs';
import { executionNamed } from './sagemaker.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });


test('without JavaScript: the execution\'s estimated cost and each step\'s, with how it was computed', async () => {
  const id = await executionNamed('AbalonePipeline', 'nightly-baseline');
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${id}`);
  const total = await page.getByTestId('cost-total').textContent();
  assert.match(total, /\$\d+\.\d\d/);
  assert.match(await page.getByTestId('cost').locator('h2').textContent(), /estimated/);
  const train = page.locator('[data-testid="cost-table"] tr[data-cost-step="AbaloneTrain"]');
  assert.match(await train.textContent(), /USD\/h \(ml\.m5\.xlarge\) × 1 × [\d.]+ h billable/);
  await context.close();
});

test('with JavaScript: the step table and the timeline\'s tooltips fill in each step\'s cost', async () => {
  const id = await executionNamed('AbalonePipeline', 'nightly-baseline');
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${id}?tab=steps`);
  await waitForHydration(page);
  const cell = page.locator('[data-testid="step-table"] tr[data-step="AbaloneTrain"] [data-testid="step-cost"]');
  await page.waitForFunction((el) => /\$/.test(el?.textContent ?? ''), await cell.elementHandle());
  assert.match(await cell.textContent(), /^(\$\d+\.\d\d|< \$0\.01)$/);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${id}?tab=timeline`);
  await waitForHydration(page);
  await page.waitForFunction(() => /\(estimated\)/.test(document.querySelector('[data-step="AbaloneTrain"] title')?.textContent ?? ''));
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the pipeline\'s cost trend: a bar per estimated run, named, and the estimates as CSV', async () => {
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  // Each read estimates a few more finished runs: read until none is left.
  for (let i = 0; i < 10; i += 1) {
    await page.goto(`${BASE}/pipelines/AbalonePipeline`);
    if (!(await page.getByTestId('cost-pending').count())) break;
  }
  const bars = page.locator('[data-testid="cost-chart"] a');
  assert.ok((await bars.count()) >= 3, 'the demo\'s finished runs');
  assert.match(await bars.first().getAttribute('aria-label'), /: (\$\d|< \$0\.01)/);
  const href = await page.getByTestId('costs-csv').getAttribute('href');
  const res = await page.request.get(new URL(href, BASE).toString());
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'], /text\/csv/);
  const lines = (await res.text()).trim().split('\r\n');
  assert.equal(lines[0], 'place,pipeline,execution_id,started,step,job,component,instance,count,usd,spot_saved_usd,cache_saved_usd,how');
  assert.ok(lines.some((l) => l.includes(',AbalonePipeline,') && l.includes(',AbaloneTrain,') && l.includes(',training,ml.m5.xlarge,')), lines.slice(0, 5).join('\n'));
  assert.ok(lines.slice(1).every((l) => l.split(',')[1] === 'AbalonePipeline'), 'only the pipeline asked for');
  await context.close();
});
