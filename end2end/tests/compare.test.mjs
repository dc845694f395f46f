// Comparing executions in the browser: ticked in the executions list and compared without JavaScript (the
// parameters that differ, then all of them, then only the differences again); "Compare with last success"
// from a failed execution's page with JavaScript, the success first, the training logs side by side, reached
// and read from the keyboard.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, openPage, waitForHydration } from './browser.mjs';
import { executions, idOf } from './sagemaker.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The id of AbalonePipeline's execution named `display` (the demo's). */
async function idNamed(display) {
  const e = (await executions('AbalonePipeline')).find((x) => x.PipelineExecutionDisplayName === display);
  assert.ok(e, `the demo has ${display}`);
  return idOf(e.PipelineExecutionArn);
}

test('without JavaScript: tick two executions, compare them, show every parameter and only the differences again', async () => {
  const [baseline, failed] = [await idNamed('nightly-baseline'), await idNamed('strict-threshold')];
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
  const [baseline, failed] = [await idNamed('nightly-baseline'), await idNamed('strict-threshold')];
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
