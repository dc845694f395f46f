// Accessibility: axe-core (WCAG 2 A and AA) finds nothing on any page or tab, in the light and the dark theme;
// at a phone's width (390 px) no page scrolls sideways (the Gantt chart and the graph scroll inside their own
// boxes), table text stays readable, and the top bar keeps its controls on screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { BASE, launch, openPage, waitForHydration } from './browser.mjs';
import { executions, idOf } from './sagemaker.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');

let browser;
/** Execution ids of the seeded runs the pages below show. */
const ids = {};
before(async () => {
  browser = await launch();
  for (const [key, pipeline, display] of [
    ['failed', 'AbalonePipeline', 'strict-threshold'],
    ['waiting', 'ControlFlowPipeline', 'awaiting-approval'],
  ]) {
    const e = (await executions(pipeline)).find((x) => x.PipelineExecutionDisplayName === display);
    assert.ok(e, `seeded execution ${display} of ${pipeline} exists`);
    ids[key] = idOf(e.PipelineExecutionArn);
  }
});
after(async () => { await browser?.close(); });

const abalone = () => `/pipelines/AbalonePipeline/executions/${ids.failed}`;
const control = () => `/pipelines/ControlFlowPipeline/executions/${ids.waiting}`;

/**
 * Every page and tab, as [name, path, summary]: `path` is a function because the execution ids are known only
 * in `before`; `summary`, when given, is the selector of a <summary> clicked first (a menu shown open).
 */
const PAGES = [
  ['pipelines', () => '/'],
  ['executions of a pipeline', () => '/pipelines/AbalonePipeline'],
  ['executions with parameter columns', () => '/pipelines/AbalonePipeline?cols=InputData,TrainingInstanceType,MseThreshold'],
  ['start form', () => '/pipelines/AbalonePipeline/start'],
  ['start form, re-run from a failure', () => `/pipelines/AbalonePipeline/start?from=${ids.failed}&mode=failure`],
  ['execution, timeline tab', () => `${abalone()}?tab=timeline`],
  ['execution, graph tab', () => `${abalone()}?tab=graph`],
  ['execution, steps tab', () => `${abalone()}?tab=steps`],
  ['execution, timeline with a step selected', () => `${abalone()}?tab=timeline&step=AbaloneTrain`],
  ['execution, graph with a failed step selected', () => `${abalone()}?tab=graph&step=AbaloneMSEFail`],
  ['execution, steps with a step selected', () => `${abalone()}?tab=steps&step=AbaloneEval`],
  ['execution, re-run menu open', () => `${abalone()}?tab=timeline&step=AbaloneEval`, '[data-testid=rerun-menu] > summary'],
  ['execution waiting on its callback', () => `${control()}?tab=timeline&step=ManualApproval`],
  ['execution waiting on its callback, graph tab', () => `${control()}?tab=graph&step=ManualApproval`],
  ['execution waiting on its callback, confirming a stop', () => `${control()}?tab=steps&confirm=stop`],
];

const THEMES = ['light', 'dark'];

/** A page in `theme`: the system preference (colorScheme) and the stored, pinned choice both say it. */
async function open(path, theme, summary, options = {}) {
  const { context, page } = await openPage(browser, { colorScheme: theme, reducedMotion: 'reduce', ...options });
  await context.addInitScript((t) => { try { localStorage.setItem('stepline-theme', t); } catch {} }, theme);
  await page.goto(`${BASE}${path}`);
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

/** axe-core's WCAG 2 A and AA violations on the page, as { id, impact, nodes: [{ target }] }. */
async function axe(page) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
}

/** One line per violation: rule, impact, how many elements, and the first few selectors. */
function describe(violations) {
  return violations
    .map((v) => {
      const targets = v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ');
      return `  ${v.id} (${v.impact}) ×${v.nodes.length}: ${targets}${v.nodes.length > 4 ? ' | …' : ''}`;
    })
    .join('\n');
}

for (const theme of THEMES) {
  for (const [name, path, summary] of PAGES) {
    test(`axe finds no WCAG 2 A/AA violation: ${name}, ${theme} theme`, async () => {
      const { context, page } = await open(path(), theme, summary);
      const violations = await axe(page);
      assert.equal(violations.length, 0, `${path()} (${theme}):\n${describe(violations)}`);
      assert.deepEqual(page.problems, []);
      await context.close();
    });
  }
}

/**
 * What is wrong with the page's layout at its current width: sideways scrolling of the page, text that runs
 * out of its table cell, short words broken across lines (a column squeezed to a letter per line), and a top
 * bar control cut off. The Gantt chart and the graph scroll inside their own boxes, so they are left out.
 */
function layoutProblems() {
  const problems = [];
  const width = window.innerWidth;
  const root = document.documentElement;
  if (root.scrollWidth > width) problems.push(`the page is ${root.scrollWidth} px wide in a ${width} px window`);
  const inScrollBox = (el) => el.closest('.gantt-scroll, .dag-scroll');
  const describe = (el) => `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).trim().split(/\s+/).join('.')}` : ''} “${el.textContent.trim().slice(0, 40)}”`;
  for (const el of document.querySelector('.topbar').querySelectorAll('a, button, input, select')) {
    const r = el.getBoundingClientRect();
    if (r.left < 0 || r.right > width) problems.push(`top bar control ${describe(el)} is off screen (${Math.round(r.left)}–${Math.round(r.right)} px)`);
  }
  for (const cell of document.querySelectorAll('td, th, dd, dt')) {
    if (inScrollBox(cell) || cell.getClientRects().length === 0) continue;
    if (cell.scrollWidth > cell.clientWidth + 1) problems.push(`${describe(cell)} overflows its cell (${cell.scrollWidth} > ${cell.clientWidth} px)`);
    // A short word split over lines means the column was squeezed to almost nothing. (A break after a
    // hyphen, as in "retrain-only", is an ordinary line break.)
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/[^\s-]+/g)) {
        if (m[0].length > 12) continue;
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) problems.push(`the word “${m[0]}” in ${describe(cell)} is broken over ${tops.size} lines`);
      }
    }
  }
  return problems;
}

test('at 390 px no page scrolls sideways, table text stays readable, the top bar keeps its controls and axe finds nothing', async () => {
  const failures = [];
  for (const [name, path, summary] of PAGES) {
    const { context, page } = await open(path(), 'light', summary, { viewport: { width: 390, height: 844 } });
    const toggle = await page.getByTestId('theme-toggle').boundingBox();
    if (!toggle || toggle.x < 0 || toggle.x + toggle.width > 390) failures.push(`${name}: the theme button is not within the screen (${JSON.stringify(toggle)})`);
    for (const p of await page.evaluate(layoutProblems)) failures.push(`${name}: ${p}`);
    // The narrow layout brings nothing axe objects to either.
    const violations = await axe(page);
    if (violations.length) failures.push(`${name}: axe at 390 px:\n${describe(violations)}`);
    assert.deepEqual(page.problems, [], `${name}: ${page.problems.join('; ')}`);
    await context.close();
  }
  assert.deepEqual(failures, []);
});
