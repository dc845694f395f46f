// The model registry in the browser: the demo's group with versions in every approval state, read without
// JavaScript, and a pending version rejected without a reason (refused, nothing changes), then approved —
// read back from the emulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, openPage, waitForHydration } from './browser.mjs';
import { call } from './sagemaker.mjs';

const GROUP = 'AbaloneModelPackageGroupName';
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('without JavaScript the registry lists the group and shows every approval state with where each came from', async () => {
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  await page.goto(`${BASE}/models`);
  assert.ok(await page.locator(`tr[data-group="${GROUP}"]`).count(), 'the demo group is listed');
  await page.click(`a[href$="/models/${GROUP}"]`);
  for (const state of ['Approved', 'Rejected', 'PendingManualApproval']) {
    assert.ok(await page.locator(`[data-testid="model-versions"] [data-approval="${state}"]`).count(), state);
  }
  assert.match(await page.textContent('[data-testid="approval-description"]'), /Superseded by the release/);
  assert.ok(await page.locator('[data-testid="model-metrics"]').count(), 'metrics side by side');
  const link = page.locator('[data-testid="generated-by"]').first();
  await link.click();
  await page.waitForURL(/\/pipelines\/[^/]+\/executions\//);
  await context.close();
});

test('a pending version: a rejection without a reason is refused, then an approval is made and shown', async () => {
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/models/${GROUP}`);
  await waitForHydration(page);
  const pending = page.locator('[data-testid="model-version"]:has(h3 [data-approval="PendingManualApproval"])').first();
  const version = await pending.getAttribute('data-version');
  // The refusal is the server's 400, which the page shows: expected here.
  page.expectedErrors = [/\/api\/decide_model$/];
  await pending.getByTestId('reject-model').click();
  await page.waitForSelector('[role="alert"]:has-text("comment is required")', { timeout: 20000 });
  const arn = (await call('ListModelPackages', { ModelPackageGroupName: GROUP, MaxResults: 100 }))
    .ModelPackageSummaryList.find((v) => String(v.ModelPackageVersion) === version).ModelPackageArn;
  assert.equal((await call('DescribeModelPackage', { ModelPackageName: arn })).ModelApprovalStatus, 'PendingManualApproval');
  await pending.getByTestId('approve-model').click();
  await page.waitForSelector('[data-testid="notice"]:has-text("approved")', { timeout: 20000 });
  // The page reads its versions again: the badge turns.
  await page.waitForSelector(`[data-testid="model-version"][data-version="${version}"] h3 [data-approval="Approved"]`, { timeout: 20000 });
  assert.equal((await call('DescribeModelPackage', { ModelPackageName: arn })).ModelApprovalStatus, 'Approved');
  assert.deepEqual(page.problems, []);
  await context.close();
});
