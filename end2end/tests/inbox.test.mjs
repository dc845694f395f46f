// The inbox in the browser: a callback step waiting (started here) shows up with how long it has waited and the
// output an approval sends, and is approved without JavaScript and rejected with it, from the inbox itself —
// read back from the emulator. The demo's pending model versions are there too, and the top bar counts them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, openPage, waitForHydration } from './browser.mjs';
import { call, idOf, poll, steps, waitForStatus, waitForStepStatus } from './sagemaker.mjs';

const token = (tag) => `${tag}-${Date.now()}-${Math.random().toString(36).slice(2)}-0123456789abcdef`;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** A ControlFlowPipeline execution waiting at its approval callback: its id. */
async function waiting(tag) {
  const started = await call('StartPipelineExecution', {
    PipelineName: 'ControlFlowPipeline', PipelineExecutionDisplayName: `e2e-inbox-${tag}`, ClientRequestToken: token(tag),
  });
  await waitForStepStatus(started.PipelineExecutionArn, 'ManualApproval', 'Executing');
  return started.PipelineExecutionArn;
}

/** Opens the inbox until it lists the execution's waiting step (the inbox is read for everybody every 20 s). */
async function inboxWith(page, id) {
  const item = page.locator(`[data-testid="inbox-callback"][data-execution="${id}"]`);
  await poll(async () => {
    await page.goto(`${BASE}/inbox`);
    return item.count();
  }, (n) => n === 1, { what: `the inbox to list ${id}`, timeoutMs: 60000, intervalMs: 2000 });
  return item;
}

test('without JavaScript a waiting callback is approved from the inbox, which then no longer lists it', async () => {
  const arn = await waiting('plain');
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  const item = await inboxWith(page, idOf(arn));
  assert.match(await item.getByTestId('waited').textContent(), /^waiting for \d+ min$/);
  assert.match(await item.textContent(), /An approval sends:\s*approved\s*\(\s*Boolean\s*\)/);
  assert.ok(await page.locator('[data-testid="inbox-version"]').count(), 'the demo\'s pending versions');
  await item.getByRole('button', { name: 'Approve' }).click();
  await page.waitForURL(/\/inbox\?notice=approved/);
  assert.match(await page.getByTestId('notice').textContent(), /callback step was approved/);
  assert.equal(await page.locator(`[data-testid="inbox-callback"][data-execution="${idOf(arn)}"]`).count(), 0);
  const step = (await steps(arn)).find((s) => s.StepName === 'ManualApproval');
  assert.equal(step.StepStatus, 'Succeeded');
  assert.deepEqual(step.Metadata.Callback.OutputParameters, [{ Name: 'approved', Value: 'true' }]);
  await context.close();
});

test('with JavaScript the top bar counts what waits, and a callback is rejected from the inbox with a reason', async () => {
  const arn = await waiting('script');
  const { context, page } = await openPage(browser);
  const item = await inboxWith(page, idOf(arn));
  await waitForHydration(page);
  const count = Number(await page.getByTestId('inbox-count').textContent());
  const listed = await page.locator('[data-testid="inbox-callback"], [data-testid="inbox-version"]').count();
  assert.ok(count >= 1 && count <= listed + 2, `the count (${count}) is what waits (${listed}), as last read`);
  await item.getByPlaceholder('why it is rejected').fill('not this week');
  await item.getByRole('button', { name: 'Reject' }).click();
  await page.waitForSelector('[data-testid="notice"]:has-text("rejected")', { timeout: 20000 });
  await waitForStatus(arn, 'Failed');
  assert.equal((await steps(arn)).find((s) => s.StepName === 'ManualApproval').FailureReason, 'not this week');
  await page.waitForSelector(`[data-testid="inbox-callback"][data-execution="${idOf(arn)}"]`, { state: 'detached', timeout: 20000 });
  assert.deepEqual(page.problems, []);
  await context.close();
});
