// Browser-side figures of the execution page of a 2,000-step execution, in Debian's headless Chromium:
//  - time from navigation start until the page is interactive (document.body.dataset.hydrated === "true")
//    and until DOMContentLoaded, 5 runs in fresh browser contexts (no HTTP cache), median reported;
//  - the bytes transferred (compressed, as Chromium asks with accept-encoding gzip/br) by a first load
//    (fresh context, no cache): HTML, JS, wasm and CSS, each and in total, for the pipelines page (`/`,
//    where the dashboard opens), a demo execution page (AbalonePipeline's newest execution) and the
//    2,000-step execution page. The < 400 KB target (400,000 B) is checked on the first two; the third is
//    reported, its HTML alone being ~75 KB.
//
// Needs a running Stepline in demo mode: STEPLINE_URL (the dashboard) and STEPLINE_EMULATOR_URL (the demo's
// emulator, printed by the server as "Seeding the built-in SageMaker emulator at http://…"). It creates a
// 400×5 wide pipeline (2,004 steps) in that emulator, gives every step a 0.01 s duration through the
// emulator's scenario route, runs it to completion, then measures. Every wait is bounded.
//
//   STEPLINE_URL=http://127.0.0.1:3000 STEPLINE_EMULATOR_URL=http://127.0.0.1:PORT node end2end/bench/interactive.mjs
import { launch } from '../tests/browser.mjs';

const BASE = process.env.STEPLINE_URL ?? 'http://127.0.0.1:3000';
const EMULATOR = process.env.STEPLINE_EMULATOR_URL;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CHAINS = 400;
const LENGTH = 5;
const BUDGET_BYTES = 400 * 1000;
const INTERACTIVE_TARGET_MS = 2000;
const ROLE = 'arn:aws:iam::123456789012:role/SageMakerPipelineRole';

if (!EMULATOR) {
  console.error('STEPLINE_EMULATOR_URL is not set (the demo emulator URL the server prints on start-up)');
  process.exit(2);
}

// The whole script stops by itself.
const overall = setTimeout(() => {
  console.error('interactive bench: gave up after 10 minutes');
  process.exit(3);
}, 10 * 60 * 1000);
overall.unref();

async function call(operation, body = {}) {
  const res = await fetch(EMULATOR, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `SageMaker.${operation}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60000),
  });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`${operation}: ${json.__type}: ${json.message}`);
  return json;
}

const token = (tag) => `${tag}-${Date.now()}-${Math.random().toString(36).slice(2)}-0123456789abcdef`;

/** The same shape as `wide_definition(chains, length)` in src/server/demo.rs. */
function wideDefinition(chains, length) {
  const steps = [{ Name: 'Ingest', Type: 'Processing', Arguments: { Source: { Get: 'Parameters.Source' } }, CacheConfig: { Enabled: true, ExpireAfter: 'P30D' } }];
  const kinds = ['Processing', 'Processing', 'Training', 'Processing', 'Transform'];
  const tails = [];
  const pad = (c) => String(c).padStart(3, '0');
  for (let c = 0; c < chains; c++) {
    for (let k = 0; k < length; k++) {
      steps.push({
        Name: `Feature${pad(c)}-${k}`,
        Type: kinds[k % kinds.length],
        DependsOn: [k === 0 ? 'Ingest' : `Feature${pad(c)}-${k - 1}`],
        Arguments: { Shard: c, Stage: k, Window: { Get: 'Parameters.WindowDays' } },
        CacheConfig: { Enabled: true, ExpireAfter: 'P30D' },
      });
    }
    tails.push(`Feature${pad(c)}-${length - 1}`);
  }
  steps.push({ Name: 'Merge', Type: 'Processing', DependsOn: tails, Arguments: {} });
  steps.push({ Name: 'TrainModel', Type: 'Training', DependsOn: ['Merge'], Arguments: { OutputDataConfig: { S3OutputPath: 's3://stepline-demo/models' } } });
  steps.push({
    Name: 'RegisterModel', Type: 'RegisterModel',
    Arguments: { ModelPackageGroupName: 'FeatureFactory', ModelDataUrl: { Get: 'Steps.TrainModel.ModelArtifacts.S3ModelArtifacts' } },
  });
  return {
    Version: '2020-12-01',
    Metadata: {},
    Parameters: [
      { Name: 'Source', Type: 'String', DefaultValue: 's3://stepline-demo/raw/' },
      { Name: 'WindowDays', Type: 'Integer', DefaultValue: 30 },
    ],
    Steps: steps,
  };
}

async function prepareExecution() {
  const pipeline = `BenchWide2000-${Date.now()}`;
  const definition = wideDefinition(CHAINS, LENGTH);
  await call('CreatePipeline', { PipelineName: pipeline, PipelineDefinition: JSON.stringify(definition), RoleArn: ROLE, ClientRequestToken: token('create') });
  // Every step of this pipeline lasts 0.01 simulated seconds (the demo runs at 20 simulated s per real s).
  const steps = Object.fromEntries(definition.Steps.map((s) => [s.Name, { duration: 0.01 }]));
  const sc = await fetch(`${EMULATOR}/_emulator/scenario`, {
    method: 'POST',
    body: JSON.stringify({ pipelines: { [pipeline]: { steps } } }),
    signal: AbortSignal.timeout(30000),
  });
  if (sc.status !== 200) throw new Error(`scenario: ${sc.status} ${await sc.text()}`);
  const started = await call('StartPipelineExecution', { PipelineName: pipeline, PipelineExecutionDisplayName: 'bench-2000-steps', ClientRequestToken: token('start') });
  const arn = started.PipelineExecutionArn;
  const t0 = Date.now();
  let status = 'Executing';
  while (status === 'Executing' || status === 'Stopping') {
    if (Date.now() - t0 > 180000) throw new Error(`${arn} still ${status} after 180 s`);
    await new Promise((r) => setTimeout(r, 250));
    status = (await call('DescribePipelineExecution', { PipelineExecutionArn: arn })).PipelineExecutionStatus;
  }
  const id = arn.split('/').pop();
  return { pipeline, id, status, steps: definition.Steps.length, runSeconds: (Date.now() - t0) / 1000 };
}

function kind(url, contentType) {
  const path = new URL(url).pathname;
  if (path.endsWith('.wasm') || contentType.includes('wasm')) return 'wasm';
  if (path.endsWith('.js') || contentType.includes('javascript')) return 'js';
  if (path.endsWith('.css') || contentType.includes('text/css')) return 'css';
  if (contentType.includes('text/html')) return 'html';
  return 'other';
}

/** Record, before any page script, when body gets data-hydrated="true" (ms since navigation start). */
const HYDRATION_PROBE = () => {
  const mark = () => {
    if (window.__hydratedAt === undefined && document.body?.dataset.hydrated === 'true') window.__hydratedAt = performance.now();
  };
  new MutationObserver(mark).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
};

async function measure(browser, url, collectBytes) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  const finished = [];
  if (collectBytes) page.on('requestfinished', (req) => finished.push(req));
  await page.addInitScript(HYDRATION_PROBE);
  const response = await page.goto(url, { waitUntil: 'load', timeout: 120000 });
  try {
    await page.waitForFunction(() => document.body?.dataset.hydrated === 'true', null, { timeout: 60000 });
  } catch (e) {
    problems.push(`not hydrated after 60 s: ${e.message.split('\n')[0]}`);
  }
  const t = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    return {
      hydrated: window.__hydratedAt ?? NaN,
      dcl: nav.domContentLoadedEventEnd,
      ttfb: nav.responseStart,
      htmlDone: nav.responseEnd,
      load: nav.loadEventEnd,
      domNodes: document.getElementsByTagName('*').length,
      ganttRows: document.querySelectorAll('[data-testid=gantt] a.gantt-row').length,
    };
  });
  let bytes = null;
  if (collectBytes) {
    bytes = [];
    for (const req of finished) {
      const res = await req.response();
      if (!res) continue;
      const sizes = await req.sizes();
      const headers = await res.allHeaders();
      const type = kind(req.url(), headers['content-type'] ?? '');
      let decoded = null;
      try { decoded = (await res.body()).length; } catch { /* streamed or redirected */ }
      bytes.push({
        url: req.url().replace(BASE, ''),
        type,
        status: res.status(),
        encoding: headers['content-encoding'] ?? 'identity',
        contentLength: headers['content-length'] ? Number(headers['content-length']) : null,
        transferred: sizes.responseBodySize,
        decoded,
      });
    }
  }
  await context.close();
  return { status: response?.status(), ...t, bytes, problems };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const f = (n) => n.toFixed(0);

const prepared = await prepareExecution();
const url = `${BASE}/pipelines/${prepared.pipeline}/executions/${prepared.id}`;
const demoExecution = (await call('ListPipelineExecutions', { PipelineName: 'AbalonePipeline', MaxResults: 1 })).PipelineExecutionSummaries[0];
const firstLoads = [
  { name: 'pipelines page `/`', url: `${BASE}/`, checked: true },
  { name: 'demo execution page (AbalonePipeline)', url: `${BASE}/pipelines/AbalonePipeline/executions/${demoExecution.PipelineExecutionArn.split('/').pop()}`, checked: true },
  { name: '2,000-step execution page (run 1 above)', checked: false },
];
// Same Chromium and flags as the end-to-end tests.
const browser = await launch();
const runs = [];
try {
  for (let i = 0; i < RUNS; i++) runs.push(await measure(browser, url, i === 0));
  for (const l of firstLoads) l.run = l.url ? await measure(browser, l.url, true) : runs[0];
} finally {
  await browser.close();
}

let failed = false;
console.log('');
console.log('## Stepline in the browser: execution page of a 2,000-step execution');
console.log('');
console.log(`Date ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · Chromium ${browser.version()} headless · ${url}`);
console.log(`Execution: ${prepared.steps} steps, ${prepared.status}, ran in ${prepared.runSeconds.toFixed(1)} s in the demo emulator; page: ${runs[0].domNodes} elements, ${runs[0].ganttRows} Gantt rows`);
console.log('');
console.log('| run | HTTP | TTFB ms | HTML done ms | DOMContentLoaded ms | load ms | interactive (hydrated) ms |');
console.log('|---|---|---|---|---|---|---|');
runs.forEach((r, i) => {
  console.log(`| ${i + 1}${i === 0 ? ' (server cold, first load)' : ''} | ${r.status} | ${f(r.ttfb)} | ${f(r.htmlDone)} | ${f(r.dcl)} | ${f(r.load)} | ${f(r.hydrated)} |`);
  if (r.status !== 200 || !Number.isFinite(r.hydrated)) failed = true;
});
const medDcl = median(runs.map((r) => r.dcl));
const medHyd = median(runs.map((r) => r.hydrated));
console.log(`| **median of ${runs.length}** | | ${f(median(runs.map((r) => r.ttfb)))} | ${f(median(runs.map((r) => r.htmlDone)))} | **${f(medDcl)}** | ${f(median(runs.map((r) => r.load)))} | **${f(medHyd)}** |`);
console.log('');
console.log(`Interactive target < ${INTERACTIVE_TARGET_MS} ms: ${medHyd < INTERACTIVE_TARGET_MS ? 'met' : 'MISSED'} (median ${f(medHyd)} ms)`);
console.log('');
const counted = ['html', 'js', 'wasm', 'css'];
for (const l of firstLoads) {
  console.log(`First load of the ${l.name}, bytes on the wire (Chromium sends accept-encoding gzip, deflate, br, zstd):`);
  console.log('');
  console.log('| resource | type | encoding | transferred | content-length | decoded |');
  console.log('|---|---|---|---|---|---|');
  const totals = {};
  for (const b of l.run.bytes) {
    console.log(`| ${b.url} | ${b.type} | ${b.encoding} | ${b.transferred} B | ${b.contentLength ?? '—'} | ${b.decoded ?? '—'} B |`);
    totals[b.type] = (totals[b.type] ?? 0) + b.transferred;
  }
  const total = counted.reduce((s, k) => s + (totals[k] ?? 0), 0);
  console.log('');
  console.log(`| type | transferred |`);
  console.log('|---|---|');
  for (const k of counted) console.log(`| ${k} | ${totals[k] ?? 0} B |`);
  console.log(`| **total (HTML+JS+wasm+CSS)** | **${total} B** (${kb(total)}) |`);
  if (totals.other) console.log(`| other (not counted) | ${totals.other} B |`);
  console.log('');
  if (l.run.status !== 200 || !Number.isFinite(l.run.hydrated)) failed = true;
  if (l.checked) {
    console.log(`Compressed first-load target < 400 KB (${BUDGET_BYTES} B): ${total < BUDGET_BYTES ? 'met' : 'MISSED'}`);
  } else {
    console.log(`(not held to the target: ${totals.html ?? 0} B of it is this page's own HTML)`);
  }
  console.log('');
}
const problems = [...runs, ...firstLoads.map((l) => l.run)].flatMap((r) => r.problems);
if (problems.length) console.log(`\nBrowser problems: ${[...new Set(problems)].join('; ')}`);
if (failed) console.log('\nFAILED: a load was not a 200 or the page did not hydrate');
process.exit(failed ? 1 : 0);
