// Every page and tab of the dashboard as the accessibility tests and the screenshot script visit them, and
// how to open one in a theme.
import assert from 'node:assert/strict';
import { BASE, openPage, waitForHydration } from './browser.mjs';
import { EMULATOR, executions, idOf } from './sagemaker.mjs';

/** The demo's seeded executions the pages show, as [key, pipeline, display name]. */
const SEEDED = [
  ['failed', 'AbalonePipeline', 'strict-threshold'],
  ['waiting', 'ControlFlowPipeline', 'awaiting-approval'],
];

/** Execution ids of the seeded runs, by key; fails naming the one that is missing. */
export async function seededIds() {
  const ids = {};
  for (const [key, pipeline, display] of SEEDED) {
    const e = (await executions(pipeline)).find((x) => x.PipelineExecutionDisplayName === display);
    assert.ok(e, `the emulator at ${EMULATOR} has execution ${display} of ${pipeline} (is it the demo's?)`);
    ids[key] = idOf(e.PipelineExecutionArn);
  }
  return ids;
}

export const abalone = (ids) => `/pipelines/AbalonePipeline/executions/${ids.failed}`;
export const control = (ids) => `/pipelines/ControlFlowPipeline/executions/${ids.waiting}`;

/**
 * Every page and tab: `slug` names its screenshots, `name` its tests, `path(ids)` is its address once the
 * execution ids are known, and `summary`, when given, is the selector of a <summary> clicked first (a menu
 * shown open).
 */
export const PAGES = [
  { slug: 'pipelines', name: 'pipelines', path: () => '/' },
  { slug: 'executions', name: 'executions of a pipeline', path: () => '/pipelines/AbalonePipeline' },
  { slug: 'executions-parameter-columns', name: 'executions with parameter columns', path: () => '/pipelines/AbalonePipeline?cols=InputData,TrainingInstanceType,MseThreshold' },
  { slug: 'start-form', name: 'start form', path: () => '/pipelines/AbalonePipeline/start' },
  { slug: 'start-form-rerun-from-failure', name: 'start form, re-run from a failure', path: (ids) => `/pipelines/AbalonePipeline/start?from=${ids.failed}&mode=failure` },
  { slug: 'execution-timeline', name: 'execution, timeline tab', path: (ids) => `${abalone(ids)}?tab=timeline` },
  { slug: 'execution-graph', name: 'execution, graph tab', path: (ids) => `${abalone(ids)}?tab=graph` },
  { slug: 'execution-steps', name: 'execution, steps tab', path: (ids) => `${abalone(ids)}?tab=steps` },
  { slug: 'execution-timeline-step-selected', name: 'execution, timeline with a step selected', path: (ids) => `${abalone(ids)}?tab=timeline&step=AbaloneTrain` },
  { slug: 'execution-graph-failed-step-selected', name: 'execution, graph with a failed step selected', path: (ids) => `${abalone(ids)}?tab=graph&step=AbaloneMSEFail` },
  { slug: 'execution-steps-step-selected', name: 'execution, steps with a step selected', path: (ids) => `${abalone(ids)}?tab=steps&step=AbaloneEval` },
  { slug: 'execution-logs', name: 'execution, logs tab of a training step', path: (ids) => `${abalone(ids)}?tab=logs&step=AbaloneTrain` },
  { slug: 'execution-logs-search', name: 'execution, logs tab with a search', path: (ids) => `${abalone(ids)}?tab=logs&step=AbaloneTrain&q=epoch` },
  { slug: 'execution-definition', name: 'execution, its definition against the latest', path: (ids) => `${abalone(ids)}/definition` },
  { slug: 'execution-rerun-menu-open', name: 'execution, re-run menu open', path: (ids) => `${abalone(ids)}?tab=timeline&step=AbaloneEval`, summary: '[data-testid=rerun-menu] > summary' },
  { slug: 'waiting-timeline', name: 'execution waiting on its callback', path: (ids) => `${control(ids)}?tab=timeline&step=ManualApproval` },
  { slug: 'waiting-graph', name: 'execution waiting on its callback, graph tab', path: (ids) => `${control(ids)}?tab=graph&step=ManualApproval` },
  { slug: 'waiting-confirm-stop', name: 'execution waiting on its callback, confirming a stop', path: (ids) => `${control(ids)}?tab=steps&confirm=stop` },
  { slug: 'notifications-off', name: 'notifications, not configured', path: () => '/notifications' },
  { slug: 'models', name: 'model registry', path: () => '/models' },
  { slug: 'model-group', name: 'model registry, a group\'s versions', path: () => '/models/AbaloneModelPackageGroupName' },
  { slug: 'inbox', name: 'inbox', path: () => '/inbox' },
  { slug: 'compare', name: 'compare, a failed run with the last success', path: (ids) => `/pipelines/AbalonePipeline/compare?e=${ids.failed}&against=success` },
];

/**
 * A page in `theme`: the system preference (colorScheme) and the stored, pinned choice both say it. Fails if
 * the page does not answer 200. `summary` opens a menu first; `options` go to the browser context.
 */
export async function openInTheme(browser, path, theme, { summary, ...options } = {}) {
  const { context, page } = await openPage(browser, { colorScheme: theme, reducedMotion: 'reduce', ...options });
  await context.addInitScript((t) => { try { localStorage.setItem('stepline-theme', t); } catch {} }, theme);
  const res = await page.goto(`${BASE}${path}`);
  if (res?.status() !== 200) {
    await context.close();
    throw new Error(`${path} answered ${res ? `HTTP ${res.status()}` : 'nothing'}, not 200`);
  }
  await waitForHydration(page);
  await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
  if (summary) {
    await page.locator(summary).click();
    await page.waitForFunction((s) => document.querySelector(s).parentElement.open, summary);
  }
  // Let the live indicator connect and anything hydration changes settle before looking.
  await page.waitForTimeout(300);
  return { context, page };
}
