/**
 * Browser-test helpers: Debian's chromium through playwright-core (no browser
 * download), and a place for screenshots that git does not see.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../helpers/gateway.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'test/browser/artifacts');

/** Launches chromium; a missing browser fails the test with what to do, it is never skipped. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests need chromium at ${CHROMIUM} (not found). Install it (Debian: apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary.`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/** The artifacts folder, created with a .gitignore of its own so that nothing in it is ever added. */
export function artifactsDir(): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  const ignore = path.join(ARTIFACTS, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '*\n');
  return ARTIFACTS;
}

/** Collects uncaught page errors and CSP violations (the console must cause none) into the list it returns. */
export function collectProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => void problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  return problems;
}

/** A fresh context and page (its default wait `timeoutMs`), with its page errors and CSP violations collected. */
export async function openPage(
  browser: Browser,
  options: { width?: number; height?: number; timeoutMs?: number } = {},
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(options.timeoutMs ?? 5_000);
  return { context, page, problems: collectProblems(page) };
}
