// Pipeline versions in the browser: the start form offers every version, its parameter fields follow the
// version chosen, the execution started runs that version, and its page says it is older than the latest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, openPage, waitForHydration } from './browser.mjs';
import { call, executions, waitForStatus } from './sagemaker.mjs';

const PIPELINE = `E2eVersions-${Date.now()}`;
const ROLE = 'arn:aws:iam::123456789012:role/SageMakerPipelineRole';
const token = (tag) => `${tag}-${Date.now()}-${Math.random().toString(36).slice(2)}-0123456789abcdef`;

/** A one-step definition with these String parameters ([name, default]). */
const definition = (params) => JSON.stringify({
  Version: '2020-12-01',
  Parameters: params.map(([Name, DefaultValue]) => ({ Name, Type: 'String', DefaultValue })),
  Steps: [{ Name: 'Prepare', Type: 'Processing', Arguments: {} }],
});

/** Whether the endpoint lists pipeline versions (the emulator does from branch emu-logs on). */
async function listsVersions() {
  try {
    await call('ListPipelineVersions', { PipelineName: PIPELINE });
    return true;
  } catch (e) {
    if (/UnknownOperation/.test(e.message)) return false;
    throw e;
  }
}

let browser;
let skip = false;
before(async () => {
  browser = await launch();
  await call('CreatePipeline', {
    PipelineName: PIPELINE,
    PipelineDefinition: definition([['Region', 'us-east-1'], ['OldOnly', 'a']]),
    RoleArn: ROLE,
    ClientRequestToken: token('create'),
  });
  await call('UpdatePipeline', { PipelineName: PIPELINE, PipelineDefinition: definition([['Region', 'eu-west-1'], ['NewOnly', 'b']]) });
  skip = !(await listsVersions());
});
after(async () => {
  // The other suites count the demo's pipelines: this one goes, once its executions have stopped.
  for (const e of await executions(PIPELINE)) {
    if (e.PipelineExecutionStatus === 'Executing') {
      await call('StopPipelineExecution', { PipelineExecutionArn: e.PipelineExecutionArn, ClientRequestToken: token('stop') });
    }
    await waitForStatus(e.PipelineExecutionArn, (s) => s !== 'Executing' && s !== 'Stopping');
  }
  await call('DeletePipeline', { PipelineName: PIPELINE, ClientRequestToken: token('delete') });
  await browser?.close();
});

test('choosing a version in the start form shows its parameters, and the execution runs it', async (t) => {
  if (skip) {
    t.skip('the endpoint does not list pipeline versions (ListPipelineVersions)');
    return;
  }
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/${PIPELINE}/start`);
  await waitForHydration(page);
  const chooser = page.getByLabel('Pipeline version');
  assert.equal(await chooser.inputValue(), 'latest');
  assert.equal((await chooser.locator('option:checked').textContent()).trim(), 'latest (v2)');
  assert.deepEqual(await chooser.locator('option').evaluateAll((os) => os.map((o) => o.value)), ['latest', '2', '1']);
  await page.locator('#param-NewOnly').waitFor();
  assert.equal(await page.locator('#param-OldOnly').count(), 0);
  // Choosing a version brings its parameters, at once (no button press needed with JavaScript).
  await chooser.selectOption('1');
  await page.waitForURL(/[?&]version=1$/);
  await page.locator('#param-OldOnly').waitFor();
  assert.equal(await page.locator('#param-NewOnly').count(), 0);
  assert.equal(await page.getByLabel('Region').inputValue(), 'us-east-1');
  assert.equal(await page.getByLabel('Pipeline version').inputValue(), '1');
  await page.getByLabel('Display name').fill('e2e-version-1');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/executions\/[a-z0-9]+$/);
  const e = (await executions(PIPELINE)).find((x) => x.PipelineExecutionDisplayName === 'e2e-version-1');
  assert.ok(e, 'the execution was started');
  const d = await call('DescribePipelineExecution', { PipelineExecutionArn: e.PipelineExecutionArn });
  assert.equal(d.PipelineVersionId, 1);
  const version = page.getByTestId('pipeline-version');
  await version.waitFor();
  assert.match(await version.textContent(), /version 1, older than latest \(v2\)/);
  // And what changed since, without leaving the server's rendering.
  await page.getByTestId('definition-diff-link').click();
  await page.waitForURL(/\/definition$/);
  const diff = page.getByTestId('definition-diff');
  await diff.waitFor();
  assert.match(await diff.locator('tr.diff-del').allTextContents().then((t) => t.join('|')), /OldOnly/);
  assert.match(await diff.locator('tr.diff-add').allTextContents().then((t) => t.join('|')), /NewOnly/);
  assert.deepEqual(page.problems, []);
  await context.close();
});
