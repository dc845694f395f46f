// Opens URL in Debian's Chromium and waits until the wasm bundle has hydrated it, with no errors on the
// page: the check scripts/test-image.sh runs against the container.
import { launch, openPage, waitForHydration } from '../tests/browser.mjs';

const url = process.argv[2];
const browser = await launch();
try {
  const { page } = await openPage(browser);
  await page.goto(url);
  await waitForHydration(page);
  if (page.problems.length) throw new Error(page.problems.join('\n'));
  console.log(`hydrated: ${url}`);
} finally {
  await browser.close();
}
