// When SageMaker throttles, every page keeps what it knew, says how old it is and why, and recovers by
// itself when SageMaker answers again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, openPage, waitForHydration } from './browser.mjs';
import { call, idOf, poll, scenario } from './sagemaker.mjs';

const READS = [
  'ListPipelines',
  'DescribePipeline',
  'ListPipelineExecutions',
  'DescribePipelineExecution',
  'ListPipelineExecutionSteps',
  'ListPipelineParametersForExecution',
];

let browser;
before(async () => { browser = await launch(); });
after(async () => {
  await scenario({});
  await browser?.close();
});

/** Reload `path` until `ready(page)` holds (the dashboard's freshness windows and backoffs are seconds). */
async function reloadUntil(page, path, ready, what, timeoutMs = 30000) {
  await poll(
    async () => {
      await page.goto(`${BASE}${path}`);
      return { ok: await ready(page), text: (await page.textContent('main')) ?? '' };
    },
    (seen) => seen.ok,
    { what: `${path}: ${what}`, show: (seen) => seen.text.slice(0, 1500), timeoutMs, intervalMs: 500 },
  );
}

const notice = (page) => page.getByTestId('stale-notice');

test('while SageMaker throttles every read, each page shows what it knew with its age and why, then recovers', async () => {
  // An execution that stays running: a callback step nobody answers.
  const started = await call('StartPipelineExecution', {
    PipelineName: 'ControlFlowPipeline',
    PipelineExecutionDisplayName: `stale-${Date.now()}`,
    ClientRequestToken: `stale-${Date.now()}-0123456789abcdef0123456789`,
  });
  const execution = `/pipelines/ControlFlowPipeline/executions/${idOf(started.PipelineExecutionArn)}`;
  const pages = ['/', '/pipelines/ControlFlowPipeline', execution];
  const { context, page } = await openPage(browser);
  const noJs = await browser.newContext({ javaScriptEnabled: false });
  const plain = await noJs.newPage();
  try {
    for (const path of pages) {
      await page.goto(`${BASE}${path}`);
      assert.equal(await notice(page).count(), 0, `${path} is current before the throttling`);
    }

    await scenario({ faults: READS.map((operation) => ({ operation, code: 'ThrottlingException' })) });
    for (const path of pages) {
      for (const p of [page, plain]) {
        await reloadUntil(p, path, async (pg) => (await notice(pg).count()) > 0, 'the stale notice');
        const text = await notice(p).textContent();
        assert.match(text, /^As of .+ — SageMaker is throttling \(ThrottlingException: Rate exceeded\); retrying/, `${path}: ${text}`);
        assert.match(await p.textContent('main'), /ControlFlowPipeline/, `${path} still shows what it knew`);
      }
    }

    // The live page says it is paused instead of live, from its stream.
    await page.goto(`${BASE}${execution}`);
    await waitForHydration(page);
    await page.waitForFunction(() => /paused — SageMaker is throttling/.test(document.querySelector('[data-testid="live-state"]')?.textContent ?? ''), null, { timeout: 20000 });

    // SageMaker answers again: the open page turns live by itself, and reloads are current.
    await scenario({});
    await page.waitForFunction(() => !/paused/.test(document.querySelector('[data-testid="live-state"]')?.textContent ?? 'paused'), null, { timeout: 45000 });
    await page.waitForFunction(() => document.querySelector('[data-testid="stale-notice"]') === null, null, { timeout: 45000 });
    for (const path of pages) {
      await reloadUntil(page, path, async (pg) => (await notice(pg).count()) === 0, 'the recovery', 45000);
    }
    assert.deepEqual(page.problems.filter((p) => !/http 503/.test(p)), []);
  } finally {
    await scenario({});
    await context.close();
    await noJs.close();
  }
});

test('with SageMaker latency on and the quota spent, the live badge turns paused and back by itself', async () => {
  const started = await call('StartPipelineExecution', {
    PipelineName: 'ControlFlowPipeline',
    PipelineExecutionDisplayName: `quota-${Date.now()}`,
    ClientRequestToken: `quota-${Date.now()}-0123456789abcdef0123456789`,
  });
  const execution = `/pipelines/ControlFlowPipeline/executions/${idOf(started.PipelineExecutionArn)}`;
  const { context, page } = await openPage(browser);
  // Functions, not strings: the page's Content-Security-Policy forbids evaluating strings.
  const badgeMatches = (source) => new RegExp(source).test(document.querySelector('[data-testid="live-state"]')?.textContent ?? '');
  try {
    await scenario({ latency: '50..150' });
    await page.goto(`${BASE}${execution}`);
    await waitForHydration(page);
    await page.waitForFunction(() => {
      const text = document.querySelector('[data-testid="live-state"]')?.textContent ?? '';
      return text !== '' && !/paused/.test(text);
    }, null, { timeout: 20000 });
    // The account's quota for the poller's reads is spent elsewhere (one call in twenty seconds left).
    const spent = { rate: 0.05, burst: 1 };
    await scenario({
      latency: '50..150',
      quotas: { DescribePipelineExecution: spent, ListPipelineExecutionSteps: spent, ListPipelineParametersForExecution: spent },
    });
    await page.waitForFunction(badgeMatches, 'paused — .*(throttling|pacing)', { timeout: 30000 });
    // The quota is back: the badge turns live again with no reload.
    await scenario({ latency: '50..150' });
    await page.waitForFunction((source) => !new RegExp(source).test(document.querySelector('[data-testid="live-state"]')?.textContent ?? ''), 'paused', { timeout: 60000 });
    assert.deepEqual(page.problems.filter((p) => !/http 503/.test(p)), []);
  } finally {
    await scenario({});
    await context.close();
  }
});
