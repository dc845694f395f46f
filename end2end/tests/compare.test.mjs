// Comparing executions in the browser: ticked in the executions list and compared without JavaScript (the
// parameters that differ, then all of them, then only the differences again); "Compare with last success"
// from a failed execution's page with JavaScript, the success first, the training logs side by side, reached
// and read from the keyboard; a failed training job's log opened at its first error; at a phone's width each
// row a card with every value under its execution's name; the line diff one click from the structural one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, openPage, waitForHydration } from './browser.mjs';
import { executionNamed } from './sagemaker.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });


test('without JavaScript: tick two executions, compare them, show every parameter and only the differences again', async () => {
  const [baseline, failed] = [await executionNamed('AbalonePipeline', 'nightly-baseline'), await executionNamed('AbalonePipeline', 'strict-threshold')];
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  await page.goto(`${BASE}/pipelines/AbalonePipeline?size=100`);
  for (const id of [failed, baseline]) await page.check(`tr[data-execution="${id}"] [data-testid="compare-pick"]`);
  await page.getByTestId('compare-selected').click();
  await page.waitForURL(/\/pipelines\/AbalonePipeline\/compare\?e=/);
  const summary = await page.getByTestId('compare-summary').textContent();
  assert.match(summary, /1 parameter differs/);
  assert.match(summary, /Succeeded → Failed/, 'the oldest first, whatever order they were ticked in');
  const params = page.getByTestId('compare-parameters');
  assert.equal(await params.locator('tbody tr').count(), 1, 'only the parameter that differs');
  assert.ok(await params.locator('tr[data-parameter="MseThreshold"]').count());
  await page.getByTestId('show-all').click();
  await page.waitForURL(/all=1/);
  assert.ok(await params.locator('tr[data-parameter="TrainingInstanceType"]').count(), 'every parameter');
  await page.getByTestId('diff-only').click();
  await page.waitForURL((u) => !u.search.includes('all=1'));
  assert.equal(await params.locator('tbody tr').count(), 1);
  assert.ok(await page.locator('[data-testid="compare-steps"] tr[data-step="AbaloneMSEFail"]').count(), 'the failing step aligned');
  await context.close();
});

test('with JavaScript: "Compare with last success" from a failed execution, read from the keyboard', async () => {
  const [baseline, failed] = [await executionNamed('AbalonePipeline', 'nightly-baseline'), await executionNamed('AbalonePipeline', 'strict-threshold')];
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${failed}`);
  await waitForHydration(page);
  const links = page.locator('.compare-links a');
  assert.equal(await links.first().getAttribute('data-testid'), 'compare-success', 'on a failed run, the last success comes first');
  await page.getByTestId('compare-success').click();
  await page.waitForURL(/against=success/);
  await page.getByTestId('compare-summary').waitFor();
  const heads = await page.locator('[data-testid="compare-parameters"] thead th[data-execution]').evaluateAll((ths) => ths.map((t) => t.dataset.execution));
  assert.deepEqual(heads, [baseline, failed]);
  assert.ok(await page.locator('[data-testid="compare-metrics"] tr[data-metric="validation:rmse"]').count(), 'the training metrics');
  // The training step's logs side by side, picked from the form.
  await page.getByTestId('logs-pick').locator('select').selectOption('AbaloneTrain');
  await page.getByTestId('logs-pick').getByRole('button', { name: 'Show logs' }).click();
  await page.waitForURL(/tab=logs/);
  await page.getByTestId('compare-logs').waitFor();
  assert.equal(await page.locator('[data-testid="compare-logs"] .cmp-log-col').count(), 2);
  // The side-by-side tables scroll in their own boxes, which the keyboard reaches.
  const box = page.locator('.scroll-box').first();
  await box.focus();
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Parameters side by side');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a failed job\'s log opens at its first error, beside the log of the run that trained', async () => {
  const [baseline, capacity] = [await executionNamed('AbalonePipeline', 'nightly-baseline'), await executionNamed('AbalonePipeline', 'capacity-shortage')];
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/compare?e=${baseline}&e=${capacity}&step=AbaloneTrain&tab=logs`);
  await waitForHydration(page);
  const failedBox = page.locator(`.cmp-log-col[data-execution="${capacity}"] .cmp-log`);
  const error = failedBox.locator('.first-error');
  await error.waitFor();
  // Scrolled so the first error is near the top of its box, with the lines before it above.
  await page.waitForFunction((id) => {
    const box = document.querySelector(`.cmp-log-col[data-execution="${id}"] .cmp-log`);
    return box && box.scrollTop > 0;
  }, capacity);
  const [b, e] = [await failedBox.boundingBox(), await error.boundingBox()];
  assert.ok(e.y >= b.y && e.y + e.height <= b.y + b.height, `the first error is in view: ${JSON.stringify({ b, e })}`);
  assert.ok(e.y - b.y < b.height / 2, 'in the upper half of the box');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('at 390 px each compared row is a card naming each execution over its value', async () => {
  const [baseline, failed] = [await executionNamed('AbalonePipeline', 'nightly-baseline'), await executionNamed('AbalonePipeline', 'strict-threshold')];
  const { context, page } = await openPage(browser, { viewport: { width: 390, height: 844 } });
  await page.goto(`${BASE}/pipelines/AbalonePipeline/compare?e=${baseline}&e=${failed}`);
  const cells = page.locator('[data-testid="compare-parameters"] tr[data-parameter="MseThreshold"] td');
  assert.equal(await cells.count(), 2);
  const labels = await cells.evaluateAll((tds) => tds.map((td) => getComputedStyle(td, '::before').content));
  assert.deepEqual(labels, ['"nightly-baseline"', '"strict-threshold"']);
  const widths = await cells.evaluateAll((tds) => tds.map((td) => td.getBoundingClientRect().width));
  for (const w of widths) assert.ok(w > 300, `a value takes the card's width, not a column's: ${w}`);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'nothing scrolls sideways');
  await context.close();
});

test('the line diff is one click from a definition that changed', async () => {
  const baseline = await executionNamed('AbalonePipeline', 'nightly-baseline');
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  // Against itself, nothing changed: the page says so and offers no line diff.
  await page.goto(`${BASE}/pipelines/AbalonePipeline/compare?e=${baseline}&e=${await executionNamed('AbalonePipeline', 'release')}`);
  assert.equal(await page.getByTestId('line-diff').count(), 0, 'the same definition: no line diff offered');
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${baseline}/definition?against=${baseline}`);
  assert.match(await page.getByTestId('diff-summary').textContent(), /The definitions are the same/);
  await context.close();
});
