// Opens a report.html in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), fails on any console error, page error, failed request or request
// that leaves the file, checks that the list's filters work, and takes screenshots.
// Usage: node check_report.mjs REPORT.html FULL.png [TOP.png]
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';

const [report, full, top] = process.argv.slice(2);
if (!report || !full) {
  console.error('usage: node check_report.mjs REPORT.html FULL.png [TOP.png]');
  process.exit(2);
}
const problems = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1360, height: 1000 } });
  const page = await context.newPage();
  page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', e => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', r => problems.push(`failed request: ${r.url()} (${r.failure()?.errorText})`));
  page.on('request', r => { if (!r.url().startsWith('file:')) problems.push(`network request: ${r.url()}`); });
  const url = pathToFileURL(report).href;
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'load' });
  const loadMs = Date.now() - t0;
  const rows = await page.locator('#list tbody tr').count();
  if (rows === 0) problems.push('the ranked list is empty');
  // Filtering by the first CSM shows only that CSM's rows.
  const csm = await page.locator('#f-csm option').nth(1).getAttribute('value');
  if (csm !== null) {
    await page.selectOption('#f-csm', csm);
    const shown = Number(await page.locator('#shown').textContent());
    const visible = await page.locator('#list tbody tr:visible').count();
    const want = await page.locator('#list tbody tr').evaluateAll((rs, c) => rs.filter(r => r.dataset.csm === c).length, csm);
    if (shown !== want || visible !== want || want === 0 || want === rows) {
      problems.push(`CSM filter: shown ${shown}, visible ${visible}, expected ${want} of ${rows}`);
    }
    await page.selectOption('#f-csm', '');
  }
  // Sorting by churn probability puts the highest first on the second click.
  await page.locator('#list th').nth(3).click();
  await page.locator('#list th').nth(3).click();
  const firstTwo = await page.locator('#list tbody tr td:nth-child(4)').evaluateAll(cs => cs.slice(0, 50).map(c => parseFloat(c.dataset.v)));
  for (let i = 1; i < firstTwo.length; i++) {
    if (firstTwo[i] > firstTwo[i - 1]) { problems.push('sorting by churn probability is out of order'); break; }
  }
  await page.reload({ waitUntil: 'load' });
  const svgs = await page.locator('svg:not(.cellbar)').count();
  await page.screenshot({ path: full, fullPage: true });
  if (top) {
    const small = await browser.newContext({ viewport: { width: 1360, height: 1100 }, deviceScaleFactor: 0.6 });
    const p2 = await small.newPage();
    await p2.goto(url, { waitUntil: 'load' });
    await p2.screenshot({ path: top });
  }
  console.log(`report: ${rows} rows in the list, ${svgs} charts, loaded in ${loadMs} ms`);
} finally {
  await browser.close();
}
if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log('report check passed: no console errors, no failed or network requests');
