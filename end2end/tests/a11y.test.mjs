// Accessibility: axe-core (WCAG 2 A and AA) finds nothing on any page or tab, in the light and the dark theme;
// at a phone's width (390 px) no page scrolls sideways (the Gantt chart and the graph scroll inside their own
// boxes), table text stays readable, and the top bar keeps its controls on screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { BASE, launch, waitForHydration } from './browser.mjs';
import { PAGES, abalone, control, openInTheme, seededIds } from './pages.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');

let browser;
/** Execution ids of the seeded runs the pages show. */
let ids = {};
before(async () => {
  browser = await launch();
  ids = await seededIds();
});
after(async () => { await browser?.close(); });

const THEMES = ['light', 'dark'];

/** `path` in `theme` (see pages.mjs), optionally with a menu open or other context options. */
// axe-core is injected as a script of the test's own; the pages' Content-Security-Policy would (rightly)
// refuse it, so these contexts bypass it — the other suites run with it in force.
const open = (path, theme, summary, options = {}) => openInTheme(browser, path, theme, { summary, bypassCSP: true, ...options });

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
  for (const { name, path, summary } of PAGES) {
    test(`axe finds no WCAG 2 A/AA violation: ${name}, ${theme} theme`, async () => {
      const { context, page } = await open(path(ids), theme, summary);
      const violations = await axe(page);
      assert.equal(violations.length, 0, `${path(ids)} (${theme}):\n${describe(violations)}`);
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
  for (const { name, path, summary } of PAGES) {
    const { context, page } = await open(path(ids), 'light', summary, { viewport: { width: 390, height: 844 } });
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

/** The element that has the keyboard focus, described for assertions. */
const focused = (page) => page.evaluate(() => {
  const a = document.activeElement;
  return { tag: a?.tagName, text: (a?.textContent ?? '').trim(), testid: a?.dataset?.testid ?? a?.closest('[data-testid]')?.dataset.testid };
});

test('the re-run menu and the stop confirmation keep and give back the keyboard focus', async () => {
  const { context, page } = await open(`${abalone(ids)}?tab=timeline`, 'light');
  try {
    // The menu opens from the keyboard and Escape closes it with the focus back on its summary.
    await page.focus('[data-testid=rerun-menu] > summary');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-testid=rerun-menu]').open);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('[data-testid=rerun-menu]').open);
    assert.deepEqual(await focused(page), { tag: 'SUMMARY', text: 'Re-run…', testid: 'rerun-menu' });
    // Every step row of the timeline is a link reached by the keyboard, named by its step.
    const rows = await page.$$eval('[data-testid=gantt] a[data-step]', (as) => as.map((a) => ({ href: a.getAttribute('href'), name: a.querySelector('title')?.textContent })));
    assert.ok(rows.length > 3 && rows.every((r) => r.href && r.name), JSON.stringify(rows));
  } finally {
    await context.close();
  }

  const confirm = await open(`${control(ids)}?tab=steps`, 'light');
  try {
    const p = confirm.page;
    await p.locator('[data-testid=stop-link]').click();
    // The confirmation takes the focus, and Tab goes round its two controls as in a dialog.
    await p.waitForFunction(() => document.activeElement?.closest('[data-testid=stop-confirm]'));
    assert.equal((await focused(p)).text, 'Stop');
    await p.keyboard.press('Tab');
    assert.equal((await focused(p)).text, 'Cancel');
    await p.keyboard.press('Tab');
    assert.equal((await focused(p)).text, 'Stop');
    await p.keyboard.press('Shift+Tab');
    assert.equal((await focused(p)).text, 'Cancel');
    // Escape cancels it and gives the focus back to the "Stop…" link; nothing was stopped.
    await p.keyboard.press('Escape');
    await p.waitForFunction(() => document.querySelector('[data-testid=stop-confirm]') === null);
    await p.waitForFunction(() => document.activeElement?.dataset?.testid === 'stop-link');
    assert.doesNotMatch(p.url(), /confirm=stop/);
  } finally {
    await confirm.context.close();
  }
});

test('a failed execution names its failed steps, no timeline mark is cut, and graph edges show their direction', async () => {
  const { context, page } = await open(`${abalone(ids)}?tab=timeline`, 'light');
  try {
    const failed = await page.locator('[data-testid=failed-steps] li').allTextContents();
    assert.ok(failed.some((t) => /^AbaloneMSEFail: .+/.test(t)), `failed steps with their reasons: ${JSON.stringify(failed)}`);
    const cut = await page.$$eval('[data-testid=gantt] svg.gantt:not(.gantt-axis)', (svgs) => svgs.flatMap((svg) => {
      const width = svg.viewBox.baseVal.width;
      return [...svg.querySelectorAll('.row-mark, .row-label')]
        .filter((t) => t.textContent.trim() && t.getBBox().x + t.getBBox().width > width)
        .map((t) => t.textContent);
    }));
    assert.deepEqual(cut, [], 'every label ends inside the chart');
    await page.goto(`${BASE}${abalone(ids)}?tab=graph`);
    await waitForHydration(page);
    const edges = await page.$$eval('[data-testid=dag] path.edge', (ps) => ps.map((p) => p.getAttribute('marker-end')));
    assert.ok(edges.length > 3 && edges.every((m) => /^url\(#arrow/.test(m ?? '')), JSON.stringify(edges));
  } finally {
    await context.close();
  }
});
