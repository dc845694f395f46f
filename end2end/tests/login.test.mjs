// Team access in Chromium: Stepline with its built-in OpenID Connect login against a real OpenID provider
// (npm oauth2-mock-server, on loopback), a policy of viewers, operators and an admin, and the activity log.
// This file starts its own Stepline (demo backend, `--auth oidc`) next to the one the other tests use.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OAuth2Server } from 'oauth2-mock-server';
import { launch, openPage, waitForHydration } from './browser.mjs';
import { callAt, idOf } from './sagemaker.mjs';

const POLICY = `
contact = "#ml-platform"

[[grant]]
users = ["vera"]
role = "viewer"
pipelines = ["Abalone*", "ControlFlow*"]

[[grant]]
groups = ["flow-ops"]
role = "operator"
pipelines = ["Abalone*", "ControlFlow*"]

[[grant]]
groups = ["platform"]
role = "admin"
`;

/** The people the provider knows; `loginAs` chooses who logs in next (it has no login form). */
const PEOPLE = {
  vera: { sub: 'vera-id', preferred_username: 'vera', email: 'vera@example.test', groups: ['analysts'] },
  olga: { sub: 'olga-id', preferred_username: 'olga', email: 'olga@example.test', groups: ['flow-ops'] },
  root: { sub: 'root-id', preferred_username: 'root', email: 'root@example.test', groups: ['platform'] },
};
let nextUser = 'vera';
const loginAs = (who) => { nextUser = who; };

let provider, stepline, browser, scratch, evil;
let BASE, EMULATOR;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const call = (operation, body = {}) => callAt(EMULATOR, operation, body);
const executions = async (pipeline) => (await call('ListPipelineExecutions', { PipelineName: pipeline, MaxResults: 100 })).PipelineExecutionSummaries;
const running = async (pipeline) => (await executions(pipeline)).find((e) => e.PipelineExecutionStatus === 'Executing');
const awaitingApproval = async () => (await executions('ControlFlowPipeline')).find((e) => e.PipelineExecutionDisplayName === 'awaiting-approval');
/** The token of the waiting execution's ManualApproval step, once it waits (the demo's clock runs). */
async function waitingToken(arn) {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    const steps = (await call('ListPipelineExecutionSteps', { PipelineExecutionArn: arn })).PipelineExecutionSteps;
    const s = steps.find((x) => x.StepName === 'ManualApproval' && x.StepStatus === 'Executing');
    if (s?.Metadata?.Callback?.CallbackToken) return s.Metadata.Callback.CallbackToken;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`ManualApproval of ${arn} never waited for an answer`);
}
const statusOf = async (arn) => (await call('DescribePipelineExecution', { PipelineExecutionArn: arn })).PipelineExecutionStatus;

before(async () => {
  provider = new OAuth2Server();
  await provider.issuer.keys.generate('RS256');
  provider.service.on('beforeTokenSigning', (token) => Object.assign(token.payload, PEOPLE[nextUser]));
  const providerPort = await freePort();
  provider.issuer.url = `http://127.0.0.1:${providerPort}`;
  await provider.start(providerPort, '127.0.0.1');

  scratch = mkdtempSync(join(tmpdir(), 'stepline-login-'));
  writeFileSync(join(scratch, 'policy.toml'), POLICY);
  const port = await freePort();
  BASE = `http://127.0.0.1:${port}`;
  const bin = join(process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/stepline/target'), 'release/stepline');
  const log = join(scratch, 'server.log');
  stepline = spawn(bin, [
    '--addr', `127.0.0.1:${port}`,
    '--auth', 'oidc',
    '--oidc-issuer', provider.issuer.url,
    '--oidc-client-id', 'stepline',
    '--public-url', BASE,
    '--policy', join(scratch, 'policy.toml'),
    '--data-dir', join(scratch, 'data'),
    // Each action with the person's own credentials: SageMaker's records name them (SourceIdentity).
    '--act-role', 'arn:aws:iam::123456789012:role/stepline-actions',
    // The demo's live run lasts about ten minutes of real time at this speed: the operator's test stops it
    // while it runs however slow the machine is.
    '--demo-speed', '2',
    // This provider's people are named by their preferred_username (it manages them; by default Stepline
    // takes a verified email, else the stable sub).
    '--user-claim', 'preferred_username',
  ], { env: { ...process.env, STEPLINE_OIDC_CLIENT_SECRET: 'not-a-real-secret' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  stepline.stdout.on('data', (d) => { out += d; });
  stepline.stderr.on('data', (d) => { out += d; });
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (stepline.exitCode !== null) throw new Error(`Stepline exited: ${out}`);
    try { if ((await fetch(`${BASE}/healthz`)).ok) break; } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  writeFileSync(log, out);
  EMULATOR = out.match(/emulator at (http:\/\/[0-9.:]+)/)?.[1];
  assert.ok(EMULATOR, `the demo's emulator address is in the log: ${out}`);

  // A page on another origin (same host, another port) that posts a stop form to Stepline on load.
  evil = createServer((req, res) => {
    const [pipeline, id] = decodeURIComponent(req.url.slice(1)).split('/');
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><form id=f method=post action="${BASE}/api/stop">
      <input name=pipeline value="${pipeline}"><input name=id value="${id}">
      <input name=token value="EvilEvilEvilEvilEvilEvilEvilEvilEvilEvil"></form>
      <script>document.getElementById('f').submit()</script>`);
  });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  stepline?.kill('SIGTERM');
  await provider?.stop();
  evil?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A new browser session logged in as `who` through the provider, landing on `path`. */
async function loggedIn(who, path = '/') {
  loginAs(who);
  const { context, page } = await openPage(browser);
  const res = await page.goto(`${BASE}${path}`);
  assert.equal(new URL(page.url()).origin, BASE, 'back from the provider');
  return { context, page, res };
}

test('a shared link opened while logged out lands on the same view after login', async () => {
  const waiting = await awaitingApproval();
  const path = `/pipelines/ControlFlowPipeline/executions/${idOf(waiting.PipelineExecutionArn)}?tab=steps&step=ManualApproval`;
  // Logged out, the link first goes to the provider…
  const res = await fetch(`${BASE}${path}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
  assert.equal(res.status, 302);
  assert.match(res.headers.get('location'), /^\/auth\/login\?next=/);
  // An answer that did not start in this browser (a login CSRF: someone else's code and state) is refused.
  const forged = await fetch(`${BASE}/auth/callback?code=someone-elses-code&state=someone-elses-state`, { redirect: 'manual' });
  assert.equal(forged.status, 401);
  assert.match(await forged.text(), /not started in this browser/);
  // …and, in the browser, comes back to exactly that view.
  const { context, page } = await loggedIn('vera', path);
  assert.equal(page.url(), `${BASE}${path}`);
  await waitForHydration(page);
  assert.equal(await page.textContent('[data-testid=me] .me-user'), 'vera');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a viewer sees no callback token, finds the actions disabled and is refused a stop', async () => {
  const waiting = await awaitingApproval();
  const token = await waitingToken(waiting.PipelineExecutionArn);
  const { context, page } = await loggedIn('vera', `/pipelines/ControlFlowPipeline/executions/${idOf(waiting.PipelineExecutionArn)}?tab=steps&step=ManualApproval`);
  await waitForHydration(page);
  assert.ok(!(await page.content()).includes(token), 'no callback token in the page');
  assert.equal(await page.textContent('[data-testid=me-role]'), 'viewer');
  assert.ok(await page.isDisabled('[data-testid=stop-link]'), 'the stop button is disabled');
  assert.match(await page.textContent('[data-testid=no-operate]'), /operator role.*#ml-platform/);
  // A direct post, as a hand-made form would send it, is refused by the server.
  page.expectedErrors = [/\/api\/stop/];
  const status = await page.evaluate(async ({ pipeline, id }) => {
    const body = new URLSearchParams({ pipeline, id, token: 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd' });
    return (await fetch('/api/stop', { method: 'POST', body })).status;
  }, { pipeline: 'ControlFlowPipeline', id: idOf(waiting.PipelineExecutionArn) });
  assert.equal(status, 403);
  assert.equal(await statusOf(waiting.PipelineExecutionArn), 'Executing', 'the execution is unchanged');
  // Another team's pipeline is not listed, and its link answers as a name that does not exist.
  await page.goto(`${BASE}/`);
  assert.equal(await page.locator('a[href="/pipelines/FeatureFactoryPipeline"]').count(), 0);
  assert.equal(await page.locator('a[href="/pipelines/AbalonePipeline"]').count(), 1);
  page.expectedErrors.push(/FeatureFactoryPipeline/);
  const hidden = await page.goto(`${BASE}/pipelines/FeatureFactoryPipeline`);
  assert.equal(hidden.status(), 404);
  await context.close();
});

test('an operator of the team approves a waiting step and stops a run; a cross-site page stops nothing', async () => {
  const { context, page } = await loggedIn('olga', '/');
  // A page on another origin auto-submits a stop form with olga's session: refused, nothing stops.
  const target = await running('AbalonePipeline');
  const evilUrl = `http://127.0.0.1:${evil.address().port}/AbalonePipeline/${idOf(target.PipelineExecutionArn)}`;
  page.expectedErrors = [/\/api\/stop/];
  await page.goto(evilUrl);
  await page.waitForURL(`${BASE}/api/stop`);
  assert.match(await page.textContent('body'), /Refused/);
  assert.equal(await statusOf(target.PipelineExecutionArn), 'Executing', 'nothing was stopped');
  page.expectedErrors = [];
  // Approve the waiting callback step through the page.
  const waiting = await awaitingApproval();
  await waitingToken(waiting.PipelineExecutionArn);
  await page.goto(`${BASE}/pipelines/ControlFlowPipeline/executions/${idOf(waiting.PipelineExecutionArn)}?tab=steps&step=ManualApproval`);
  await waitForHydration(page);
  assert.equal(await page.textContent('[data-testid=me-role]'), 'operator');
  await page.click('[data-testid=callback-panel] button.primary');
  await page.waitForFunction(() => !document.querySelector('[data-testid=callback-panel]'), null, { timeout: 20000 });
  // Stop the Abalone run through its confirmation.
  await page.goto(`${BASE}/pipelines/AbalonePipeline/executions/${idOf(target.PipelineExecutionArn)}?confirm=stop`);
  await waitForHydration(page);
  await page.click('[data-testid=stop-confirm] button[type=submit]');
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline && (await statusOf(target.PipelineExecutionArn)) === 'Executing') await new Promise((r) => setTimeout(r, 200));
  assert.notEqual(await statusOf(target.PipelineExecutionArn), 'Executing', 'stopped');
  // With --act-role, SageMaker itself says who stopped it.
  const described = await call('DescribePipelineExecution', { PipelineExecutionArn: target.PipelineExecutionArn });
  assert.equal(described.LastModifiedBy?.IamIdentity?.SourceIdentity, 'olga', JSON.stringify(described.LastModifiedBy));
  assert.match(described.LastModifiedBy.IamIdentity.Arn, /assumed-role\/stepline-actions\/olga$/);
  // The execution's history names her.
  await page.goto(`${BASE}/pipelines/ControlFlowPipeline/executions/${idOf(waiting.PipelineExecutionArn)}`);
  assert.match(await page.textContent('[data-testid=history]'), /olga\s+approved/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the activity page shows who did what, and logging out ends the session', async () => {
  const { context, page } = await loggedIn('root', '/activity');
  await waitForHydration(page);
  const rows = await page.$$eval('[data-testid=activity] tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(rows.some((r) => /olga/.test(r) && /approve/.test(r) && /done/.test(r)), rows.join('\n'));
  assert.ok(rows.some((r) => /olga/.test(r) && /stop/.test(r) && /denied/.test(r) && /CrossSite/.test(r)), 'the cross-site stop is on record');
  assert.ok(rows.some((r) => /vera/.test(r) && /stop/.test(r) && /denied/.test(r) && /AccessDenied/.test(r)), 'the viewer’s stop is on record');
  assert.ok(rows.some((r) => /vera/.test(r) && /login/.test(r)));
  // Filtered by user, in the URL.
  await page.goto(`${BASE}/activity?user=vera&action=stop`);
  const filtered = await page.$$eval('[data-testid=activity] tbody tr', (trs) => trs.map((tr) => tr.dataset.action));
  assert.deepEqual([...new Set(filtered)], ['stop']);
  // Log out: the next page needs a login again.
  await page.goto(`${BASE}/`);
  await waitForHydration(page);
  await page.click('[data-testid=logout]');
  await page.waitForURL(`${BASE}/auth/logged-out`);
  const res = await page.request.get(`${BASE}/`, { headers: { accept: 'text/html' }, maxRedirects: 0 });
  assert.equal(res.status(), 302);
  assert.deepEqual(page.problems, []);
  await context.close();
});
