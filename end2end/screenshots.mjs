// Screenshots of every page and tab, for reviewing visual changes: each in the light and the dark theme at
// 1280×900, and in the light theme at a phone's 390 px width, all full page.
//
//   STEPLINE_URL=http://127.0.0.1:3000 STEPLINE_EMULATOR_URL=http://127.0.0.1:PORT node end2end/screenshots.mjs [OUTDIR]
//
// OUTDIR (default screenshots/) gets <slug>-light.png, <slug>-dark.png and <slug>-390.png for every page.
// scripts/screenshots.sh starts a server and runs this for you. The pages are those of tests/a11y.test.mjs
// (which keeps its list to itself): keep the two lists in step.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { BASE, launch, openPage, waitForHydration } from './tests/browser.mjs';
import { EMULATOR, executions, idOf } from './tests/sagemaker.mjs';

const OUTDIR = process.argv[2] ?? 'screenshots/';

/** The seeded executions the pages show, as [key, pipeline, display name]. */
const SEEDED = [
  ['failed', 'AbalonePipeline', 'strict-threshold'],
  ['waiting', 'ControlFlowPipeline', 'awaiting-approval'],
];

/**
 * Every page and tab, as [slug, path, summary]: `path` takes the execution ids (found at start-up);
 * `summary`, when given, is the selector of a <summary> clicked first (a menu shown open).
 */
const PAGES = [
  ['pipelines', () => '/'],
  ['executions', () => '/pipelines/AbalonePipeline'],
  ['executions-parameter-columns', () => '/pipelines/AbalonePipeline?cols=InputData,TrainingInstanceType,MseThreshold'],
  ['start-form', () => '/pipelines/AbalonePipeline/start'],
  ['start-form-rerun-from-failure', (ids) => `/pipelines/AbalonePipeline/start?from=${ids.failed}&mode=failure`],
  ['execution-timeline', (ids) => `${abalone(ids)}?tab=timeline`],
  ['execution-graph', (ids) => `${abalone(ids)}?tab=graph`],
  ['execution-steps', (ids) => `${abalone(ids)}?tab=steps`],
  ['execution-timeline-step-selected', (ids) => `${abalone(ids)}?tab=timeline&step=AbaloneTrain`],
  ['execution-graph-failed-step-selected', (ids) => `${abalone(ids)}?tab=graph&step=AbaloneMSEFail`],
  ['execution-steps-step-selected', (ids) => `${abalone(ids)}?tab=steps&step=AbaloneEval`],
  ['execution-rerun-menu-open', (ids) => `${abalone(ids)}?tab=timeline&step=AbaloneEval`, '[data-testid=rerun-menu] > summary'],
  ['waiting-timeline', (ids) => `${control(ids)}?tab=timeline&step=ManualApproval`],
  ['waiting-graph', (ids) => `${control(ids)}?tab=graph&step=ManualApproval`],
  ['waiting-confirm-stop', (ids) => `${control(ids)}?tab=steps&confirm=stop`],
];

function abalone(ids) { return `/pipelines/AbalonePipeline/executions/${ids.failed}`; }
function control(ids) { return `/pipelines/ControlFlowPipeline/executions/${ids.waiting}`; }

/** The shots of each page: file suffix, theme and viewport. */
const SHOTS = [
  ['light', 'light', { width: 1280, height: 900 }],
  ['dark', 'dark', { width: 1280, height: 900 }],
  ['390', 'light', { width: 390, height: 844 }],
];

/** Execution ids of the seeded runs, by key; throws naming the one that is missing. */
async function seededIds() {
  const ids = {};
  for (const [key, pipeline, display] of SEEDED) {
    const e = (await executions(pipeline)).find((x) => x.PipelineExecutionDisplayName === display);
    if (!e) throw new Error(`the emulator at ${EMULATOR} has no execution named ${display} of ${pipeline} (is it the demo's?)`);
    ids[key] = idOf(e.PipelineExecutionArn);
  }
  return ids;
}

/**
 * A page in `theme`, set as tests/a11y.test.mjs sets it: the system preference (colorScheme) and the stored,
 * pinned choice both say it. Throws if the page does not answer 200.
 */
async function open(browser, url, theme, viewport, summary) {
  const { context, page } = await openPage(browser, { colorScheme: theme, reducedMotion: 'reduce', viewport });
  await context.addInitScript((t) => { try { localStorage.setItem('stepline-theme', t); } catch {} }, theme);
  const res = await page.goto(url);
  if (res?.status() !== 200) {
    await context.close();
    throw new Error(`${url} answered ${res ? `HTTP ${res.status()}` : 'nothing'}, not 200`);
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

async function main() {
  if (!EMULATOR) throw new Error('STEPLINE_EMULATOR_URL is not set: the URL of the demo\'s emulator, to find the execution ids');
  if (!process.env.STEPLINE_URL) console.error(`STEPLINE_URL is not set: using ${BASE}`);
  const ids = await seededIds();
  await mkdir(OUTDIR, { recursive: true });
  const browser = await launch();
  let written = 0;
  try {
    for (const [slug, pathOf, summary] of PAGES) {
      const url = `${BASE}${pathOf(ids)}`;
      for (const [suffix, theme, viewport] of SHOTS) {
        const { context, page } = await open(browser, url, theme, viewport, summary);
        const file = path.join(OUTDIR, `${slug}-${suffix}.png`);
        await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
        // Worth knowing when reviewing, though the picture was taken.
        for (const p of page.problems) console.error(`warning: ${slug}-${suffix}: ${p}`);
        await context.close();
        console.log(file);
        written += 1;
      }
    }
  } finally {
    await browser.close();
  }
  console.error(`${written} screenshots in ${OUTDIR}`);
}

main().catch((err) => {
  console.error(`screenshots: ${err.message}`);
  process.exitCode = 1;
});
