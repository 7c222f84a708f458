/**
 * Chromium for the dashboard's browser tests, driven by playwright-core: found at /usr/bin/chromium or on PATH,
 * skipped with a printed reason when absent, failing when REQUIRE_SERVICES=1. Every page records its console errors,
 * failed requests and dialogs, so a test can assert there were none.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const REQUIRED = process.env.REQUIRE_SERVICES === '1';

export function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM_PATH && existsSync(process.env.CHROMIUM_PATH)) return process.env.CHROMIUM_PATH;
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (its own sessionStorage, downloads allowed) and page that records what went wrong on it. */
  page(): Promise<WatchedPage>;
  close(): Promise<void>;
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors, uncaught page errors and CSP violations, in order. */
  errors: string[];
  /** Every URL the page requested (to prove no token ever went into one). */
  urls: string[];
  /** alert/confirm/prompt dialogs that fired (an XSS payload would open one). */
  dialogs: string[];
}

/** Call from a `before` hook: launches Chromium, or skips the suite (fails it under REQUIRE_SERVICES=1). */
export async function launchBrowser(context: Mocha.Context): Promise<TestBrowser> {
  const executablePath = chromiumPath();
  if (!executablePath) {
    const reason = 'chromium not found (apt-get install -y chromium)';
    if (REQUIRED) throw new Error(`${reason} (REQUIRE_SERVICES=1)`);
    console.log(`      skipped: ${reason}`);
    context.skip();
  }
  // launch() gives Chromium a fresh temporary user-data-dir of its own and removes it on close.
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async page() {
      const browserContext = await browser.newContext({ acceptDownloads: true, viewport: { width: 1360, height: 900 } });
      const page = await browserContext.newPage();
      // A missing element fails its test quickly instead of running into mocha's timeout.
      page.setDefaultTimeout(5000);
      const watched: WatchedPage = { page, context: browserContext, errors: [], urls: [], dialogs: [] };
      page.on('console', (message) => message.type() === 'error' && watched.errors.push(message.text()));
      page.on('pageerror', (error) => watched.errors.push(`pageerror: ${error.message}`));
      page.on('request', (request) => watched.urls.push(request.url()));
      page.on('dialog', (dialog) => {
        watched.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
        void dialog.dismiss();
      });
      return watched;
    },
    async close() {
      await browser.close();
    },
  };
}
