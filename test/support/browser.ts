// A report page opened in Debian's headless Chromium, as a reader would see it, with what
// went wrong while it loaded: console errors, page errors, and requests that left the file.
import { chromium, type Browser, type Page } from 'playwright-core';

export interface OpenedPage {
  page: Page;
  /** Console errors and uncaught page errors, in order. */
  errors: string[];
  /** Every request for something other than a file: or data: URL. */
  requests: string[];
  close(): Promise<void>;
}

const args = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Opens file://`html` at the given width (height 900) and waits for it to load. */
export async function openPage(html: string, width = 1280): Promise<OpenedPage> {
  const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
  try {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
    });
    await page.goto(`file://${html}`, { waitUntil: 'load' });
    return { page, errors, requests, close: () => browser.close() };
  } catch (e) {
    await browser.close();
    throw e;
  }
}
