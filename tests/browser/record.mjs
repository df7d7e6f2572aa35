// Opens one page in headless Chromium and prints, as JSON, what the page recorded in
// `window.recorded` once it set `window.done` (or the time ran out).
//   node record.mjs <url> <timeout-ms> [linger-ms]
// linger-ms keeps the page (and its connections) open that long after `done`, so the server's
// view of what the page did is not mixed up with the browser going away.
// A fresh profile dir per run, so no cache, cookies or earlier EventSource state carry over.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, timeoutArg] = process.argv.slice(2);
const timeout = Number(timeoutArg || 15000);
const linger = Number(process.argv[4] || 0);
const profile = mkdtempSync(join(tmpdir(), 'sse-chromium-'));

const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  ignoreHTTPSErrors: true, // the TLS stack uses a certificate made at test time
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
  ],
});
let result;
try {
  const page = context.pages()[0] ?? await context.newPage();
  const console = [];
  page.on('console', (m) => console.push(m.text()));
  await page.goto(url);
  let timedOut = false;
  try {
    await page.waitForFunction(() => window.done === true, null, { timeout, polling: 50 });
  } catch {
    timedOut = true;
  }
  const recorded = await page.evaluate(() => window.recorded);
  if (linger) await page.waitForTimeout(linger);
  result = { timedOut, recorded, console };
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result));
