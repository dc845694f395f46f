// Screenshots of every page and tab, for reviewing visual changes: each in the light and the dark theme at
// 1280×900, and in the light theme at a phone's 390 px width, all full page.
//
//   STEPLINE_URL=http://127.0.0.1:3000 STEPLINE_EMULATOR_URL=http://127.0.0.1:PORT node end2end/screenshots.mjs [OUTDIR]
//
// OUTDIR (default screenshots/) gets <slug>-light.png, <slug>-dark.png and <slug>-390.png for every page.
// scripts/screenshots.sh starts a server and runs this for you. The pages are those the accessibility tests
// check (tests/pages.mjs).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { BASE, launch } from './tests/browser.mjs';
import { PAGES, openInTheme, seededIds } from './tests/pages.mjs';
import { EMULATOR } from './tests/sagemaker.mjs';

const OUTDIR = process.argv[2] ?? 'screenshots/';

/** The shots of each page: file suffix, theme and viewport. */
const SHOTS = [
  ['light', 'light', { width: 1280, height: 900 }],
  ['dark', 'dark', { width: 1280, height: 900 }],
  ['390', 'light', { width: 390, height: 844 }],
];

async function main() {
  if (!EMULATOR) throw new Error('STEPLINE_EMULATOR_URL is not set: the URL of the demo\'s emulator, to find the execution ids');
  if (!process.env.STEPLINE_URL) console.error(`STEPLINE_URL is not set: using ${BASE}`);
  const ids = await seededIds();
  await mkdir(OUTDIR, { recursive: true });
  const browser = await launch();
  let written = 0;
  try {
    for (const { slug, path: pathOf, summary } of PAGES) {
      for (const [suffix, theme, viewport] of SHOTS) {
        const { context, page } = await openInTheme(browser, pathOf(ids), theme, { summary, viewport });
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
