// Several accounts and regions in the browser: Stepline started with `--aws alpha,beta` on two emulators playing
// two accounts (scripts/test.sh sets it up and names them in STEPLINE_ALPHA_URL and STEPLINE_BETA_URL). Each
// place hydrates under its own base, its client-side navigation and server functions stay in it, the top bar
// switches places, and a pasted ARN of the other account opens there. Skipped in the other runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, launch, openPage, waitForHydration } from './browser.mjs';
import { callAt, idOf } from './sagemaker.mjs';

const ALPHA = process.env.STEPLINE_ALPHA_URL;
const BETA = process.env.STEPLINE_BETA_URL;
const skip = !ALPHA || !BETA ? 'not started with several accounts (scripts/test.sh runs this part on its own)' : false;
const HOME_A = `${BASE}/111111111111/eu-west-1`;
const HOME_B = `${BASE}/222222222222/us-east-1`;
const PIPELINE = 'SharedName';
const ROLE = 'arn:aws:iam::123456789012:role/SageMakerRole';
const token = (what) => `places-${what}-${process.pid}-0123456789abcdef0123456789`;

let browser;
const arns = {};
before(async () => {
  if (skip) return;
  browser = await launch();
  const definition = readFileSync(new URL('../../definitions/abalone.json', import.meta.url), 'utf8');
  // One pipeline name in both accounts, each with an execution of its own.
  for (const [name, url] of [['alpha', ALPHA], ['beta', BETA]]) {
    await callAt(url, 'CreatePipeline', {
      PipelineName: PIPELINE,
      PipelineDefinition: definition,
      PipelineDescription: `the ${name} account's`,
      RoleArn: ROLE,
      ClientRequestToken: token(`create-${name}`),
    });
    const started = await callAt(url, 'StartPipelineExecution', { PipelineName: PIPELINE, ClientRequestToken: token(`start-${name}`) });
    arns[name] = started.PipelineExecutionArn;
  }
});
after(async () => browser?.close());

test('each place hydrates under its base, navigates inside it and switches to the other', { skip }, async () => {
  const { context, page } = await openPage(browser);
  await page.goto(HOME_A);
  await waitForHydration(page);
  const places = page.getByTestId('place');
  assert.equal(await places.count(), 2);
  assert.equal(await page.locator('[data-testid=place][aria-current=page]').textContent(), 'alpha@eu-west-1 · 111111111111');

  // A client-side navigation: the pipeline's page asks its server function under alpha's base.
  await page.getByRole('link', { name: PIPELINE, exact: true }).first().click();
  await page.waitForURL(`${HOME_A}/pipelines/${PIPELINE}`);
  await page.locator(`a[href$="/executions/${idOf(arns.alpha)}"]`).first().waitFor();
  assert.equal(await page.locator(`a[href$="/executions/${idOf(arns.beta)}"]`).count(), 0, "beta's execution under alpha");

  // The top bar goes to beta's home (a whole page load): beta's pipeline of the same name has beta's execution.
  await places.filter({ hasText: '222222222222' }).click();
  await page.waitForURL(HOME_B);
  await waitForHydration(page);
  await page.getByRole('link', { name: PIPELINE, exact: true }).first().click();
  await page.waitForURL(`${HOME_B}/pipelines/${PIPELINE}`);
  await page.locator(`a[href$="/executions/${idOf(arns.beta)}"]`).first().waitFor();
  assert.equal(await page.locator(`a[href$="/executions/${idOf(arns.alpha)}"]`).count(), 0, "alpha's execution under beta");
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("an ARN of the other account pasted on one's home opens in its own", { skip }, async () => {
  const { context, page } = await openPage(browser);
  await page.goto(HOME_B);
  await waitForHydration(page);
  await page.getByRole('searchbox').fill(arns.alpha);
  await page.getByRole('searchbox').press('Enter');
  await page.waitForURL(`${HOME_A}/pipelines/${PIPELINE}/executions/${idOf(arns.alpha)}`);
  await page.getByTestId('execution-meta').waitFor();
  await waitForHydration(page);
  assert.equal(await page.locator('[data-testid=place][aria-current=page]').textContent(), 'alpha@eu-west-1 · 111111111111');

  // An account Stepline does not show says so.
  page.expectedErrors = [/q=arn/];
  await page.goto(`${HOME_B}?q=${encodeURIComponent(arns.alpha.replace('111111111111', '333333333333'))}`);
  const said = await page.getByTestId('unconfigured').textContent();
  assert.match(said, /account 333333333333 in eu-west-1, which this Stepline does not show/);
  assert.deepEqual(page.problems, []);
  await context.close();
});
