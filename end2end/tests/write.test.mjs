import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, PREFIX, launch, openPage, waitForHydration } from './browser.mjs';
import { call, executions, idOf, notExecuting, scenario, status, steps as stepsOf, waitForStatus, waitForStepStatus } from './sagemaker.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => {
  await scenario({});
  await browser?.close();
});

/** Replace the emulator's scenario (what simulated jobs do). */

/** Short abalone steps, so flows finish in seconds at the demo's speed. */
const QUICK = ['AbaloneProcess', 'AbaloneTrain', 'AbaloneEval', 'AbaloneRegisterModel-RegisterModel', 'AbaloneCreateModel-CreateModel', 'AbaloneTransform']
  .reduce((m, s) => ({ ...m, [s]: { duration: 20 } }), {});

const token = (tag) => `${tag}-${Date.now()}-${Math.random().toString(36).slice(2)}-0123456789abcdef`;

async function byName(pipeline, display) {
  const e = (await executions(pipeline)).find((x) => x.PipelineExecutionDisplayName === display);
  assert.ok(e, `execution ${display} exists`);
  return e;
}

test('start with overrides lands on the new execution, which shows them', async () => {
  await scenario({ pipelines: { AbalonePipeline: { steps: QUICK } } });
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline`);
  await waitForHydration(page);
  await page.getByTestId('start-link').click();
  await page.waitForURL(/\/start$/);
  await waitForHydration(page);
  await page.getByLabel('MseThreshold').fill('3.5');
  await page.getByLabel('TrainingInstanceType').fill('ml.m5.2xlarge');
  await page.getByLabel('Display name').fill('e2e-overrides');
  // The changed field is marked as changed.
  await page.waitForFunction(() => document.getElementById('param-MseThreshold').closest('.field').classList.contains('changed'));
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/pipelines\/AbalonePipeline\/executions\/[a-z0-9]+$/);
  const params = page.getByTestId('parameters');
  await params.waitFor();
  assert.match(await params.locator('tr.overridden').allTextContents().then((t) => t.join('|')), /MseThreshold\s*3\.5\s*default 6\.0/);
  assert.match(await params.textContent(), /ml\.m5\.2xlarge/);
  const e = await byName('AbalonePipeline', 'e2e-overrides');
  assert.ok(page.url().endsWith(idOf(e.PipelineExecutionArn)));
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a double click on Start starts exactly one execution', async () => {
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/start`);
  await waitForHydration(page);
  await page.getByLabel('Display name').fill('e2e-double-click');
  // Every start the page posts (the second click may or may not post one) is kept, to wait for its answer.
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === `${PREFIX}/api/start`) posts.push(r); });
  await page.getByRole('button', { name: 'Start' }).dblclick();
  await page.waitForURL(/\/executions\/[a-z0-9]+$/);
  // Both clicks were dispatched before the first answer came back, so any second post is in `posts` by now:
  // once every post has been answered, the server has done all it will do for this form.
  assert.ok(posts.length >= 1, 'the start was posted');
  await Promise.all(posts.map((r) => r.response()));
  const matching = (await executions('AbalonePipeline')).filter((x) => x.PipelineExecutionDisplayName === 'e2e-double-click');
  assert.equal(matching.length, 1);
  // Submitting the same rendered form again (a resubmission) starts nothing new either.
  const res = await page.request.post(`${BASE}/api/start`, {
    form: { 'form[pipeline]': 'AbalonePipeline', 'form[token]': 'resubmit-token-0123456789abcdef0123456', 'form[display_name]': 'e2e-resubmit' },
    headers: { accept: 'application/json' },
  });
  const res2 = await page.request.post(`${BASE}/api/start`, {
    form: { 'form[pipeline]': 'AbalonePipeline', 'form[token]': 'resubmit-token-0123456789abcdef0123456', 'form[display_name]': 'e2e-resubmit' },
    headers: { accept: 'application/json' },
  });
  assert.equal(res.status(), 200);
  assert.equal(await res.text(), await res2.text());
  assert.equal((await executions('AbalonePipeline')).filter((x) => x.PipelineExecutionDisplayName === 'e2e-resubmit').length, 1);
  await context.close();
});

test('a start SageMaker refuses shows the reason above the form and keeps what was typed', async () => {
  await scenario({ faults: [{ operation: 'StartPipelineExecution', code: 'ResourceLimitExceeded', message: 'too many executions running', times: 1 }] });
  const { context, page } = await openPage(browser);
  const url = `${BASE}/pipelines/AbalonePipeline/start`;
  await page.goto(url);
  await waitForHydration(page);
  await page.getByLabel('Display name').fill('e2e-refused-start');
  await page.getByLabel('MseThreshold').fill('4.5');
  await page.getByRole('button', { name: 'Start' }).click();
  const error = page.getByTestId('form-error');
  await error.waitFor();
  assert.match(await error.textContent(), /ResourceLimitExceeded/);
  assert.match(await error.textContent(), /too many executions running/);
  assert.equal(page.url(), url);
  assert.equal(await page.getByLabel('Display name').inputValue(), 'e2e-refused-start');
  assert.equal(await page.getByLabel('MseThreshold').inputValue(), '4.5');
  assert.equal((await executions('AbalonePipeline')).filter((x) => x.PipelineExecutionDisplayName === 'e2e-refused-start').length, 0);
  // Sent again once SageMaker accepts: it starts, once.
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/executions\/[a-z0-9]+$/);
  assert.equal((await executions('AbalonePipeline')).filter((x) => x.PipelineExecutionDisplayName === 'e2e-refused-start').length, 1);
  await scenario({});
  await context.close();
});

test('stop a running execution: confirm, see what follows, then it stops', async () => {
  await scenario({ pipelines: { AbalonePipeline: { steps: { AbaloneProcess: { duration: 600 } } } } });
  const started = await call('StartPipelineExecution', { PipelineName: 'AbalonePipeline', PipelineExecutionDisplayName: 'e2e-stop', ClientRequestToken: token('stop') });
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${idOf(started.PipelineExecutionArn)}`);
  await waitForHydration(page);
  await page.getByTestId('stop-link').click();
  const confirm = page.getByTestId('stop-confirm');
  await confirm.waitFor();
  assert.match(await confirm.textContent(), /Running jobs are stopped/);
  await confirm.getByRole('button', { name: 'Stop' }).click();
  await page.getByTestId('notice').waitFor();
  await waitForStatus(started.PipelineExecutionArn, 'Stopped');
  await page.locator('h1 [data-status="Stopped"]').waitFor({ timeout: 10000 });
  await context.close();
});

test('a refused action shows SageMaker\'s reason next to its form, without leaving or reloading the page', async () => {
  await scenario({
    pipelines: { AbalonePipeline: { steps: { AbaloneProcess: { duration: 600 } } } },
    faults: [{ operation: 'StopPipelineExecution', code: 'AccessDeniedException', message: 'not allowed to stop <b>this</b>', times: 1 }],
  });
  const started = await call('StartPipelineExecution', { PipelineName: 'AbalonePipeline', PipelineExecutionDisplayName: 'e2e-refused', ClientRequestToken: token('refused') });
  const arn = started.PipelineExecutionArn;
  const { context, page } = await openPage(browser);
  const url = `${BASE}/pipelines/AbalonePipeline/executions/${idOf(arn)}?confirm=stop`;
  await page.goto(url);
  await waitForHydration(page);
  // A mark on the window that a reload would wipe.
  await page.evaluate(() => { window.stillHere = true; });
  const confirm = page.getByTestId('stop-confirm');
  await confirm.getByRole('button', { name: 'Stop' }).click();
  const error = confirm.locator('[role=alert]');
  await error.waitFor();
  assert.match(await error.textContent(), /AccessDeniedException/);
  assert.match(await error.textContent(), /not allowed to stop <b>this<\/b>/, 'the message is shown as text, not markup');
  assert.equal(page.url(), url);
  assert.equal(await page.evaluate(() => window.stillHere), true);
  assert.equal(await status(arn), 'Executing');
  // The fault fired once: the same form, sent again, stops it.
  await confirm.getByRole('button', { name: 'Stop' }).click();
  await page.waitForURL(/notice=stopping/);
  assert.equal(await page.evaluate(() => window.stillHere), true, 'moving to the result is a client-side navigation');
  await waitForStatus(arn, 'Stopped');
  await scenario({});
  await context.close();
});

test('stop during a callback waits for the answer; approve, and it ends Stopped', async () => {
  const started = await call('StartPipelineExecution', { PipelineName: 'ControlFlowPipeline', PipelineExecutionDisplayName: 'e2e-callback-stop', ClientRequestToken: token('cb') });
  const arn = started.PipelineExecutionArn;
  await waitForStepStatus(arn, 'ManualApproval', 'Executing');
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/ControlFlowPipeline/executions/${idOf(arn)}?confirm=stop`);
  await waitForHydration(page);
  const confirm = page.getByTestId('stop-confirm');
  assert.match(await confirm.textContent(), /Callback step ManualApproval is waiting for an answer: the execution stays Stopping/);
  await confirm.getByRole('button', { name: 'Stop' }).click();
  await page.getByTestId('stopping-note').waitFor({ timeout: 10000 });
  assert.match(await page.getByTestId('stopping-note').textContent(), /waiting on callback step ManualApproval/);
  assert.equal(await status(arn), 'Stopping');
  const panel = page.getByTestId('callback-panel');
  await panel.getByRole('button', { name: 'Approve' }).click();
  await waitForStatus(arn, 'Stopped');
  const steps = await stepsOf(arn);
  const cb = steps.find((s) => s.StepName === 'ManualApproval');
  assert.equal(cb.StepStatus, 'Succeeded');
  assert.deepEqual(cb.Metadata.Callback.OutputParameters, [{ Name: 'approved', Value: 'true' }]);
  await context.close();
});

test('reject a waiting callback with a reason: the execution fails with it', async () => {
  const started = await call('StartPipelineExecution', { PipelineName: 'ControlFlowPipeline', PipelineExecutionDisplayName: 'e2e-reject', ClientRequestToken: token('rej') });
  const arn = started.PipelineExecutionArn;
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/ControlFlowPipeline/executions/${idOf(arn)}`);
  await waitForHydration(page);
  const panel = page.getByTestId('callback-panel');
  await panel.waitFor({ timeout: 15000 });
  await panel.getByPlaceholder('why it is rejected').fill('model looks off');
  await panel.getByRole('button', { name: 'Reject' }).click();
  await waitForStatus(arn, 'Failed');
  const steps = await stepsOf(arn);
  assert.equal(steps.find((s) => s.StepName === 'ManualApproval').FailureReason, 'model looks off');
  await context.close();
});

test('retry a failed execution to success', async () => {
  await scenario({ pipelines: { AbalonePipeline: { steps: { ...QUICK, AbaloneEval: { duration: 20, fail: { attempts: 1, reason: 'AlgorithmError: transient' } } } } } });
  const started = await call('StartPipelineExecution', { PipelineName: 'AbalonePipeline', PipelineExecutionDisplayName: 'e2e-retry', ClientRequestToken: token('retry') });
  const arn = started.PipelineExecutionArn;
  await waitForStatus(arn, 'Failed');
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${idOf(arn)}`);
  await waitForHydration(page);
  await page.getByTestId('retry-form').getByRole('button', { name: 'Retry' }).click();
  await page.getByTestId('notice').waitFor();
  await waitForStatus(arn, 'Succeeded');
  await page.locator('h1 [data-status="Succeeded"]').waitFor({ timeout: 15000 });
  await context.close();
});

test('a selective run of two connected steps runs only them and shows what was reused', async () => {
  await scenario({ pipelines: { AbalonePipeline: { steps: QUICK } } });
  const source = await byName('AbalonePipeline', 'nightly-baseline');
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/start?from=${idOf(source.PipelineExecutionArn)}&mode=selected&steps=AbaloneTrain,AbaloneEval`);
  await waitForHydration(page);
  assert.equal(await page.getByLabel('AbaloneTrain').isChecked(), true);
  assert.equal(await page.getByLabel('AbaloneProcess').isChecked(), false);
  await page.getByLabel('Display name').fill('e2e-selective');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/executions\/[a-z0-9]+$/);
  const e = await byName('AbalonePipeline', 'e2e-selective');
  await waitForStatus(e.PipelineExecutionArn, notExecuting);
  const steps = await stepsOf(e.PipelineExecutionArn);
  assert.deepEqual(steps.map((s) => s.StepName).sort(), ['AbaloneEval', 'AbaloneProcess', 'AbaloneTrain']);
  assert.equal(steps.find((s) => s.StepName === 'AbaloneProcess').SelectiveExecutionResult.SourcePipelineExecutionArn, source.PipelineExecutionArn);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${idOf(e.PipelineExecutionArn)}?tab=steps`);
  assert.match(await page.getByTestId('step-table').textContent(), /reused from source/);
  assert.match(await page.getByTestId('execution-meta').textContent(), /AbaloneTrain, AbaloneEval from/);
  await context.close();
});

test('re-run from failure picks the failed step and its downstream, with the failed execution as source', async () => {
  const failed = await byName('AbalonePipeline', 'capacity-shortage');
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${idOf(failed.PipelineExecutionArn)}`);
  await waitForHydration(page);
  await page.getByTestId('rerun-menu').locator('summary').click();
  await page.getByRole('link', { name: 'From failure' }).click();
  await page.waitForURL(/mode=failure/);
  await waitForHydration(page);
  assert.equal(await page.getByLabel('AbaloneTrain').isChecked(), true);
  assert.equal(await page.getByLabel('AbaloneProcess').isChecked(), false);
  assert.equal(await page.getByLabel('Source execution').inputValue(), idOf(failed.PipelineExecutionArn));
  await page.getByLabel('Display name').fill('e2e-from-failure');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/executions\/[a-z0-9]+$/);
  const e = await byName('AbalonePipeline', 'e2e-from-failure');
  assert.equal(await waitForStatus(e.PipelineExecutionArn, notExecuting), 'Succeeded');
  // On a succeeded execution the mode is off and says why.
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${idOf(e.PipelineExecutionArn)}`);
  await page.waitForFunction(() => /Only a failed execution can be re-run from its failure/.test(document.querySelector('[data-testid=rerun-menu]')?.textContent ?? ''));
  await context.close();
});

test('an unconnected selection is refused with its reason, and nothing starts', async () => {
  const source = await byName('AbalonePipeline', 'nightly-baseline');
  const before = (await executions('AbalonePipeline')).length;
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline/start?from=${idOf(source.PipelineExecutionArn)}&mode=selected&steps=AbaloneProcess,AbaloneEval`);
  await waitForHydration(page);
  // Checked in the browser as soon as the form is touched…
  await page.getByLabel('Display name').fill('e2e-unconnected');
  const message = page.locator('.selection .field-error');
  await message.waitFor();
  assert.match(await message.textContent(), /not connected.*AbaloneTrain/);
  // …and by the server on submit.
  const answered = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `${PREFIX}/api/start`);
  await page.getByRole('button', { name: 'Start' }).click();
  await answered;
  // The page has taken the answer in once the form is no longer pending (the button says Start again).
  await page.getByRole('button', { name: 'Start', exact: true, disabled: false }).waitFor();
  assert.match(page.url(), /\/start/);
  assert.equal((await executions('AbalonePipeline')).length, before);
  await context.close();
});

test('without JavaScript: a refused form comes back with what was typed and why; a good one starts', async () => {
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  await page.goto(`${BASE}/pipelines/AbalonePipeline/start`);
  await page.getByLabel('MseThreshold').fill('4.0');
  await page.getByLabel('Display name').fill('e2e no js!');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/start\?state=/);
  assert.match(await page.locator('.field-error').first().textContent(), /Display name/);
  assert.equal(await page.getByLabel('MseThreshold').inputValue(), '4.0');
  assert.equal(await page.getByLabel('Display name').inputValue(), 'e2e no js!');
  await page.getByLabel('Display name').fill('e2e-no-js');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/executions\/[a-z0-9]+$/);
  const e = await byName('AbalonePipeline', 'e2e-no-js');
  const params = (await call('ListPipelineParametersForExecution', { PipelineExecutionArn: e.PipelineExecutionArn })).PipelineParameters;
  assert.deepEqual(params.find((p) => p.Name === 'MseThreshold'), { Name: 'MseThreshold', Value: '4.0' });
  // Stop works as a plain form too.
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${idOf(e.PipelineExecutionArn)}`);
  if (await page.getByTestId('stop-link').count()) {
    await page.getByTestId('stop-link').click();
    await page.getByTestId('stop-confirm').getByRole('button', { name: 'Stop' }).click();
    await page.waitForURL(/notice=stopping|error=/);
  }
  await context.close();
});

test('the form survives a reload', async () => {
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/ControlFlowPipeline/start`);
  await waitForHydration(page);
  await page.getByLabel('Environment').selectOption('prod');
  await page.getByLabel('MaxItems').fill('42');
  await page.reload();
  await waitForHydration(page);
  await page.waitForFunction(() => document.getElementById('param-MaxItems').value === '42');
  assert.equal(await page.getByLabel('Environment').inputValue(), 'prod');
  await context.close();
});

test('without JavaScript: stop, approve a callback and retry all work as plain forms', async () => {
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  // Stop.
  await scenario({ pipelines: { AbalonePipeline: { steps: { AbaloneProcess: { duration: 600 } } } } });
  const running = await call('StartPipelineExecution', { PipelineName: 'AbalonePipeline', PipelineExecutionDisplayName: 'e2e-nojs-stop', ClientRequestToken: token('njs') });
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${idOf(running.PipelineExecutionArn)}`);
  await page.getByTestId('stop-link').click();
  await page.getByTestId('stop-confirm').getByRole('button', { name: 'Stop' }).click();
  await page.waitForURL(/notice=stopping/);
  await waitForStatus(running.PipelineExecutionArn, 'Stopped');
  // Approve a waiting callback.
  const cb = await call('StartPipelineExecution', { PipelineName: 'ControlFlowPipeline', PipelineExecutionDisplayName: 'e2e-nojs-cb', ClientRequestToken: token('njscb') });
  await waitForStepStatus(cb.PipelineExecutionArn, 'ManualApproval', 'Executing');
  await page.goto(`${BASE}/pipelines/ControlFlowPipeline/executions/${idOf(cb.PipelineExecutionArn)}`);
  await page.getByTestId('callback-panel').getByRole('button', { name: 'Approve' }).click();
  await page.waitForURL(/notice=approved/);
  assert.equal(await waitForStatus(cb.PipelineExecutionArn, notExecuting), 'Succeeded');
  // Retry a failed execution.
  await scenario({ pipelines: { AbalonePipeline: { steps: { ...QUICK, AbaloneEval: { duration: 20, fail: { attempts: 1, reason: 'transient' } } } } } });
  const failing = await call('StartPipelineExecution', { PipelineName: 'AbalonePipeline', PipelineExecutionDisplayName: 'e2e-nojs-retry', ClientRequestToken: token('njsr') });
  await waitForStatus(failing.PipelineExecutionArn, 'Failed');
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${idOf(failing.PipelineExecutionArn)}`);
  await page.getByTestId('retry-form').getByRole('button', { name: 'Retry' }).click();
  await page.waitForURL(/notice=retrying/);
  await waitForStatus(failing.PipelineExecutionArn, 'Succeeded');
  await context.close();
});

test('without JavaScript: a selective re-run through the plain start form', async () => {
  await scenario({ pipelines: { AbalonePipeline: { steps: QUICK } } });
  const source = await byName('AbalonePipeline', 'nightly-baseline');
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  await page.goto(`${BASE}/pipelines/AbalonePipeline/start?from=${idOf(source.PipelineExecutionArn)}&mode=selected&steps=AbaloneTrain,AbaloneEval`);
  assert.equal(await page.getByLabel('AbaloneEval').isChecked(), true);
  // Clicking a step in the graph toggles it, as a plain link.
  await page.locator('a.node[data-step="AbaloneEval"]').click();
  await page.waitForURL(/steps=AbaloneTrain($|&)/);
  assert.equal(await page.getByLabel('AbaloneEval').isChecked(), false);
  await page.getByLabel('Display name').fill('e2e-nojs-selective');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/executions\/[a-z0-9]+$/);
  const e = await byName('AbalonePipeline', 'e2e-nojs-selective');
  await waitForStatus(e.PipelineExecutionArn, notExecuting);
  const steps = await stepsOf(e.PipelineExecutionArn);
  assert.deepEqual(steps.map((s) => s.StepName).sort(), ['AbaloneProcess', 'AbaloneTrain']);
  await context.close();
});
