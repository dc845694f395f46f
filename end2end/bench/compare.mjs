// The compare page in Debian's headless Chromium: time until interactive (hydrated) and DOMContentLoaded,
// median of 5 fresh contexts, for 2 and 8 executions of the demo's 300-step FeatureFactoryPipeline (more
// executions are started through the demo's emulator until it has 8 finished ones).
//
//   STEPLINE_URL=http://127.0.0.1:3000 STEPLINE_EMULATOR_URL=http://127.0.0.1:PORT node end2end/bench/compare.mjs
import { launch } from '../tests/browser.mjs';
import { call, executions, idOf, scenario, waitForStatus, notExecuting } from '../tests/sagemaker.mjs';

const BASE = process.env.STEPLINE_URL ?? 'http://127.0.0.1:3000';
const PIPELINE = 'FeatureFactoryPipeline';
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

let finished = (await executions(PIPELINE)).filter((e) => e.PipelineExecutionStatus !== 'Executing');
// The runs it adds take 0.01 simulated seconds a step (the demo's clock runs at wall speed).
const definition = JSON.parse((await call('DescribePipeline', { PipelineName: PIPELINE })).PipelineDefinition);
await scenario({ pipelines: { [PIPELINE]: { steps: Object.fromEntries(definition.Steps.map((s) => [s.Name, { duration: 0.01 }])) } } });
for (let i = finished.length; i < 8; i += 1) {
  const { PipelineExecutionArn: arn } = await call('StartPipelineExecution', {
    PipelineName: PIPELINE, PipelineExecutionDisplayName: `bench-${i}`,
    PipelineParameters: [{ Name: 'WindowDays', Value: String(7 + i) }],
    ClientRequestToken: `bench-compare-${i}-${Date.now()}`.padEnd(32, '0'),
  });
  await waitForStatus(arn, notExecuting, { timeoutMs: 600000 });
}
finished = (await executions(PIPELINE)).filter((e) => e.PipelineExecutionStatus !== 'Executing');
const ids = finished.slice(0, 8).map((e) => idOf(e.PipelineExecutionArn));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const browser = await launch();
for (const n of [2, 8]) {
  const url = `${BASE}/pipelines/${PIPELINE}/compare?${ids.slice(0, n).map((id) => `e=${id}`).join('&')}`;
  const interactive = [];
  const loaded = [];
  for (let r = 0; r < RUNS; r += 1) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const t = Date.now();
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 120000 });
    loaded.push(Date.now() - t);
    await page.waitForFunction(() => document.body.dataset.hydrated === 'true', null, { timeout: 120000 });
    interactive.push(Date.now() - t);
    await context.close();
  }
  console.log(`compare ${n}: DOMContentLoaded median ${median(loaded)} ms, interactive median ${median(interactive)} ms (runs ${interactive.join(', ')})`);
}
await browser.close();
