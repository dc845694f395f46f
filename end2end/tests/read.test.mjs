import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, PREFIX, launch, openPage, waitForHydration } from './browser.mjs';
import { call, executions, idOf } from './sagemaker.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function byName(pipeline, display) {
  const list = await executions(pipeline);
  const e = list.find((x) => x.PipelineExecutionDisplayName === display);
  assert.ok(e, `seeded execution ${display} exists`);
  return idOf(e.PipelineExecutionArn);
}

test('the pipelines page lists every pipeline with its last execution, as real links', async () => {
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/`);
  await waitForHydration(page);
  const rows = page.getByTestId('pipelines').locator('tbody tr');
  assert.equal(await rows.count(), 3);
  const abalone = page.getByRole('link', { name: 'AbalonePipeline', exact: true });
  assert.equal(await abalone.getAttribute('href'), `${PREFIX}/pipelines/AbalonePipeline`);
  // The search box filters, and the filter is in the URL.
  await page.getByRole('searchbox').fill('control');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/\?q=control/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=pipelines] tbody tr').length === 1);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a pasted execution ARN opens that execution', async () => {
  const list = await executions('AbalonePipeline');
  const arn = list[0].PipelineExecutionArn;
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/`);
  await waitForHydration(page);
  await page.getByRole('searchbox').fill(arn);
  await page.getByRole('searchbox').press('Enter');
  await page.waitForURL(`${BASE}/pipelines/AbalonePipeline/executions/${idOf(arn)}`);
  await page.getByTestId('execution-meta').waitFor();
  // Without JavaScript the server redirects.
  const res = await fetch(`${BASE}/?q=${encodeURIComponent(arn)}`, { redirect: 'manual', headers: { accept: 'text/html' } });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), `${PREFIX}/pipelines/AbalonePipeline/executions/${idOf(arn)}`);
  await context.close();
});

test('executions filter by status on the server, page with a cursor, and Back restores the view', async () => {
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline`);
  await waitForHydration(page);
  const table = page.getByTestId('executions');
  const all = await table.locator('tbody tr').count();
  assert.ok(all >= 6, `${all} executions`);
  await page.getByLabel('Failed', { exact: true }).check();
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/status=Failed/);
  await page.waitForFunction(() => {
    const badges = [...document.querySelectorAll('[data-testid=executions] tbody tr [data-status]')];
    return badges.length > 0 && badges.every((b) => b.dataset.status === 'Failed');
  });
  assert.equal(await table.locator('tbody tr').count(), 2);
  assert.match(await table.textContent(), /Execution failed due to MSE > 3\.0/);
  // One per page: the "next" link carries a cursor; Back returns to the first page.
  await page.goto(`${BASE}/pipelines/AbalonePipeline?status=Failed&size=1`);
  await waitForHydration(page);
  const first = await table.locator('tbody tr').getAttribute('data-execution');
  await page.getByRole('link', { name: 'Next page →' }).click();
  await page.waitForURL(/after=/);
  await page.waitForFunction((f) => document.querySelector('[data-testid=executions] tbody tr')?.dataset.execution !== f, first);
  const second = await table.locator('tbody tr').getAttribute('data-execution');
  assert.notEqual(second, first);
  await page.goBack();
  await page.waitForURL((u) => !u.search.includes('after='));
  await page.waitForFunction((f) => document.querySelector('[data-testid=executions] tbody tr')?.dataset.execution === f, first);
  assert.equal(await page.getByLabel('Failed', { exact: true }).isChecked(), true);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('cursor paging walks every execution once', async () => {
  const seen = new Set();
  let url = `${BASE}/pipelines/AbalonePipeline?size=25`;
  const res = await fetch(url);
  const html = await res.text();
  for (const m of html.matchAll(/data-execution="([a-z0-9]+)"/g)) seen.add(m[1]);
  const total = (await executions('AbalonePipeline')).length;
  assert.equal(seen.size, Math.min(total, 25));
  assert.equal(res.status, 200);
});

test('the execution page shows its header, parameters, a Gantt chart, the graph and step details', async () => {
  const id = await byName('AbalonePipeline', 'strict-threshold');
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${id}`);
  await waitForHydration(page);
  assert.match(await page.getByTestId('failure-reason').textContent(), /Execution failed due to MSE > 3\.0/);
  const params = page.getByTestId('parameters');
  assert.match(await params.locator('tr.overridden').textContent(), /MseThreshold\s*3\.0\s*default 6\.0/);
  const bars = page.getByTestId('gantt').locator('a.gantt-row');
  assert.equal(await bars.count(), 5);
  // Click a step: the URL and the detail panel follow.
  await page.locator('a.gantt-row[data-step="AbaloneTrain"]').click();
  await page.waitForURL(/step=AbaloneTrain/);
  const detail = page.getByTestId('step-detail');
  await detail.waitFor();
  assert.match(await detail.textContent(), /training-job\/pipelines-/);
  assert.ok(await detail.getByRole('link', { name: 'CloudWatch logs' }).count());
  // The graph marks the branch not taken as not run.
  await page.getByRole('link', { name: 'Graph' }).click();
  await page.waitForURL(/tab=graph/);
  const dag = page.getByTestId('dag');
  assert.equal(await dag.locator('a.node').count(), 8);
  assert.equal(await dag.locator('a.node[data-step="AbaloneTransform"]').getAttribute('data-state'), 'Not run');
  assert.equal(await dag.locator('a.node[data-step="AbaloneMSEFail"]').getAttribute('data-state'), 'Failed');
  await page.getByRole('link', { name: 'Steps', exact: true }).click();
  await page.waitForURL(/tab=steps/);
  assert.match(await page.getByTestId('step-table').textContent(), /Fail: Execution failed due to MSE > 3\.0/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a shared link opens the same view in a fresh browser', async () => {
  const id = await byName('ControlFlowPipeline', 'awaiting-approval');
  const url = `${BASE}/pipelines/ControlFlowPipeline/executions/${id}?tab=graph&step=ManualApproval`;
  const { context, page } = await openPage(browser);
  await page.goto(url);
  await waitForHydration(page);
  const fresh = await browser.newContext();
  const other = await fresh.newPage();
  await other.goto(url);
  for (const p of [page, other]) {
    assert.equal(await p.locator('.tab.current').textContent(), 'Graph');
    assert.match(await p.getByTestId('step-detail').textContent(), /Callback token/);
    assert.equal(await p.locator('a.node.selected').getAttribute('data-step'), 'ManualApproval');
  }
  await fresh.close();
  await context.close();
});

test('an execution started through the emulator appears in the list and its bars grow without a reload', async () => {
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline`);
  await waitForHydration(page);
  await page.getByTestId('live-state').filter({ hasText: 'live' }).waitFor();
  const started = await call('StartPipelineExecution', {
    PipelineName: 'AbalonePipeline', PipelineExecutionDisplayName: 'e2e-live', ClientRequestToken: `e2e-live-${Date.now()}-0123456789abcdef01`,
  });
  const id = idOf(started.PipelineExecutionArn);
  await page.locator(`tr[data-execution="${id}"]`).waitFor({ timeout: 15000 });
  await page.locator(`tr[data-execution="${id}"] a`).first().click();
  await page.waitForURL(new RegExp(`/executions/${id}`));
  await page.getByTestId('gantt').waitFor({ timeout: 15000 });
  // The running bar's duration (in its tooltip) grows while the page stays put.
  const barSecs = () => {
    const t = document.querySelector('a.gantt-row.running title')?.textContent ?? '';
    const m = t.match(/· ([0-9.]+)s/);
    return m ? +m[1] : -1;
  };
  const a = await page.evaluate(barSecs);
  assert.ok(a >= 0, 'a running bar is drawn');
  // The page's clock ticks once a second: wait (at most 10 s) for it to redraw the bar longer, then read it.
  // A function, not a string: the page's Content-Security-Policy forbids evaluating strings.
  await page.waitForFunction((before) => {
    const t = document.querySelector('a.gantt-row.running title')?.textContent ?? '';
    const m = t.match(/· ([0-9.]+)s/);
    return (m ? +m[1] : -1) > before;
  }, a, { timeout: 10000 }).catch((e) => {
    if (e.name !== 'TimeoutError') throw e;
  });
  const b = await page.evaluate(barSecs);
  assert.ok(b > a, `the running bar grew: ${a}s → ${b}s`);
  assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), 1, 'no reload');
  await call('StopPipelineExecution', { PipelineExecutionArn: started.PipelineExecutionArn, ClientRequestToken: `e2e-stop-${Date.now()}-0123456789abcdef01` });
  await context.close();
});

test('without JavaScript every page still renders completely', async () => {
  const id = await byName('AbalonePipeline', 'nightly-baseline');
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  await page.goto(`${BASE}/`);
  assert.equal(await page.getByTestId('pipelines').locator('tbody tr').count(), 3);
  await page.goto(`${BASE}/pipelines/AbalonePipeline?status=Succeeded`);
  assert.ok(await page.getByTestId('executions').locator('tbody tr').count() >= 2);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${id}?tab=steps`);
  assert.ok(await page.getByTestId('step-table').locator('tbody tr').count() >= 7);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${id}?tab=graph`);
  assert.equal(await page.getByTestId('dag').locator('a.node').count(), 8);
  await context.close();
});

test('unknown pipelines and executions answer 404 with a page that names them', async () => {
  const r1 = await fetch(`${BASE}/pipelines/NoSuchPipeline`);
  assert.equal(r1.status, 404);
  assert.match(await r1.text(), /Pipeline &#x27;NoSuchPipeline&#x27; was not found|Pipeline 'NoSuchPipeline' was not found/);
  const r2 = await fetch(`${BASE}/pipelines/AbalonePipeline/executions/zzzzzzzzzzzz`);
  assert.equal(r2.status, 404);
  const r3 = await fetch(`${BASE}/pipelines/%3Cscript%3E/executions/x`);
  assert.equal(r3.status, 404);
});

test('keyboard shortcuts: ? shows the list, 2 and 3 switch tabs, j selects steps, Esc clears', async () => {
  const id = await byName('AbalonePipeline', 'nightly-baseline');
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${id}`);
  await waitForHydration(page);
  const sheet = page.getByTestId('shortcuts');
  assert.equal(await sheet.isVisible(), false);
  await page.keyboard.press('?');
  await sheet.waitFor({ state: 'visible' });
  await page.keyboard.press('Escape');
  await sheet.waitFor({ state: 'hidden' });
  await page.keyboard.press('3');
  await page.waitForURL(/tab=steps/);
  await page.getByTestId('step-table').waitFor();
  await page.keyboard.press('j');
  await page.waitForURL(/step=/);
  await page.getByTestId('step-detail').waitFor();
  await page.keyboard.press('Escape');
  await page.waitForURL((u) => !u.search.includes('step='));
  await page.keyboard.press('2');
  await page.waitForURL(/tab=graph/);
  await page.getByTestId('dag').waitFor();
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('times switch between UTC and local, and the choice is kept', async () => {
  const { context, page } = await openPage(browser, { timezoneId: 'Asia/Kolkata' });
  await page.goto(`${BASE}/pipelines/AbalonePipeline`);
  await waitForHydration(page);
  const first = page.locator('[data-testid=executions] time').first();
  assert.match(await first.textContent(), / UTC$/);
  await page.getByTestId('tz-toggle').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=executions] time')?.textContent.endsWith('+05:30'));
  await page.reload();
  await waitForHydration(page);
  await page.waitForFunction(() => document.querySelector('[data-testid=executions] time')?.textContent.endsWith('+05:30'));
  assert.equal(await page.getByTestId('tz-toggle').textContent(), 'Times: local');
  await context.close();
});
