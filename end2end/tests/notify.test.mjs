// Notifications in the browser, on a demo server started with `--notify` and `--events-queue
// sagemaker-events`: its embedded emulator sends SageMaker's events to the SQS queue it serves, and a webhook
// receiver here takes the messages (scripts/test.sh writes the settings with this receiver's port).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { BASE, launch, openPage, waitForHydration } from './browser.mjs';
import { EMULATOR, call, poll } from './sagemaker.mjs';

const PORT = Number(process.env.STEPLINE_HOOK_PORT);
const SECRET = process.env.STEPLINE_TEST_HOOK_SECRET;
const skip = !PORT || !SECRET ? 'not started with --notify (scripts/test.sh runs this part on its own)' : false;
const got = [];
let browser;
let receiver;

before(async () => {
  if (skip) return;
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      got.push({ path: req.url, headers: req.headers, body, json: JSON.parse(body) });
      res.writeHead(200).end();
    });
  });
  await new Promise((ok) => receiver.listen(PORT, '127.0.0.1', ok));
  browser = await launch();
});
after(async () => {
  await browser?.close();
  receiver?.close();
});

/** The signature a receiver checks: HMAC-SHA256 of "t.body" with the shared secret. */
function signed(message, secret = SECRET) {
  const sig = message.headers['x-stepline-signature'];
  const t = sig.split(',')[0].slice(2);
  const mac = crypto.createHmac('sha256', secret).update(`${t}.${message.body}`).digest('hex');
  return sig === `t=${t},v1=${mac}`;
}

test('the page says how executions are watched, lists the rule and the channel, never its secret', { skip }, async () => {
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/notifications`);
  await waitForHydration(page);
  const watch = await page.textContent('[data-testid="notify-watch"]');
  assert.match(watch, /SageMaker's own events \(SQS\)/);
  assert.match(await page.textContent('[data-testid="notify-rules"]'), /failed/);
  assert.match(await page.textContent('[data-testid="notify-channels"]'), /hook/);
  const html = await page.content();
  assert.ok(!html.includes(SECRET) && !html.includes(`:${PORT}/hook`), 'no secret nor URL on the page');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('"Send a test" reaches the receiver, signed, and the page says so', { skip }, async () => {
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/notifications`);
  await waitForHydration(page);
  await page.click('[data-testid="send-test"]');
  await page.waitForSelector('[data-testid="tested"]', { timeout: 20000 });
  const test = got.find((m) => m.json.event === 'test');
  assert.ok(test, 'the receiver got the test message');
  assert.ok(signed(test), 'signed with the shared secret');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a failed execution is told once through SageMaker\'s events and shows in the delivery log', { skip }, async () => {
  // The abalone pipeline takes its Fail branch when MseThreshold is below its mean squared error (4.6).
  const { PipelineExecutionArn: arn } = await call('StartPipelineExecution', {
    PipelineName: 'AbalonePipeline',
    PipelineParameters: [{ Name: 'MseThreshold', Value: '0.1' }],
    ClientRequestToken: `notify-${Date.now()}-0123456789abcdef0123`,
  });
  // Its whole run at once: the emulator's clock moves on a day.
  const res = await fetch(`${EMULATOR}/_emulator/clock`, { method: 'POST', body: JSON.stringify({ advance: 86400 }) });
  assert.equal(res.status, 200);
  const told = await poll(
    () => got.filter((m) => m.path === '/hook' && m.json.event === 'failed' && m.json.execution.arn === arn),
    (list) => list.length > 0,
    { what: 'the failure message', timeoutMs: 30000 },
  );
  assert.ok(signed(told[0]));
  assert.equal(told[0].json.pipeline, 'AbalonePipeline');
  assert.ok(told[0].json.execution.url.includes(`/pipelines/AbalonePipeline/executions/${arn.split('/').pop()}`));
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/notifications`);
  await waitForHydration(page);
  const row = page.locator('[data-testid="notify-deliveries"] tr[data-kind="failed"][data-status="sent"]');
  assert.ok((await row.count()) >= 1, 'the delivery is on the page as sent');
  // Told once, however often SageMaker's events named the change.
  await new Promise((ok) => setTimeout(ok, 2000));
  assert.equal(got.filter((m) => m.path === '/hook' && m.json.event === 'failed' && m.json.execution.arn === arn).length, 1);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('"Notify me…" on a pipeline\'s page watches it: its next failure reaches the person\'s webhook, signed with its own secret', { skip }, async () => {
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/pipelines/AbalonePipeline`);
  await waitForHydration(page);
  await page.click('[data-testid="notify-me"] summary');
  await page.selectOption('[data-testid="subscribe-target"]', 'webhook');
  await page.fill('[data-testid="subscribe-url"]', `http://127.0.0.1:${PORT}/personal/e2e`);
  await page.selectOption('[data-testid="subscribe-watch"]', 'failures');
  await page.click('[data-testid="subscribe"]');
  await page.waitForSelector('[data-testid="subscription-secret"]', { timeout: 20000 });
  assert.match(await page.textContent('[data-testid="notify-me"] summary'), /Watching this pipeline/);
  const secret = (await page.textContent('[data-testid="subscription-secret"]')).trim();
  assert.ok(!(await page.content()).includes('/personal/e2e'), "the webhook's path is not shown");
  const { PipelineExecutionArn: arn } = await call('StartPipelineExecution', {
    PipelineName: 'AbalonePipeline',
    PipelineParameters: [{ Name: 'MseThreshold', Value: '0.1' }],
    ClientRequestToken: `personal-${Date.now()}-0123456789abcdef01`,
  });
  const res = await fetch(`${EMULATOR}/_emulator/clock`, { method: 'POST', body: JSON.stringify({ advance: 86400 }) });
  assert.equal(res.status, 200);
  const told = await poll(
    () => got.filter((m) => m.path === '/personal/e2e' && m.json.execution.arn === arn),
    (list) => list.length > 0,
    { what: 'the personal message', timeoutMs: 30000 },
  );
  assert.equal(told[0].json.event, 'failed');
  assert.ok(signed(told[0], secret), "signed with the subscription's own secret");
  // Listed on the Notifications page, and removed from there.
  await page.goto(`${BASE}/notifications`);
  await waitForHydration(page);
  assert.match(await page.textContent('[data-testid="my-subscriptions"]'), /AbalonePipeline/);
  await page.click('[data-testid="my-subscriptions"] [data-testid="unsubscribe"]');
  await page.waitForSelector('text=The subscription was removed.', { timeout: 20000 });
  assert.equal(await page.locator('[data-testid="my-subscriptions"] [data-testid="subscription"]').count(), 0);
  assert.deepEqual(page.problems, []);
  await context.close();
});
