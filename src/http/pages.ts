/**
 * The gateway's own small HTML pages (account sign-in, approvals): text and
 * same-page forms only, every value escaped, no script, never framed.
 */
import type { Response } from 'express';

export interface PageContent {
  /** Plain text (escaped here). */
  title: string;
  /** HTML: every value in it already escaped by the caller. */
  body: string;
  /** A stable code for what went wrong, shown to quote to an operator (and read by tests). */
  code?: string;
}

export function page(res: Response, status: number, content: PageContent): void {
  const code = content.code ? `<p>Error code: <code id="error" data-code="${escape(content.code)}">${escape(content.code)}</code></p>` : '';
  res
    .status(status)
    .set('Content-Type', 'text/html; charset=utf-8')
    .set('Cache-Control', 'no-store')
    // No scripts, styles or frames: the pages hold text and same-page forms; none may be framed (a framed
    // button could be clicked through a decoy), and the secret in the address goes to no one in a Referer.
    .set('Content-Security-Policy', "default-src 'none'; base-uri 'none'; frame-ancestors 'none'")
    .set('X-Frame-Options', 'DENY')
    .set('Referrer-Policy', 'no-referrer')
    .send(`<!doctype html><meta charset="utf-8"><title>${escape(content.title)}</title><h1>${escape(content.title)}</h1>${content.body}${code}\n`);
}

export function quoted(text: string): string {
  return `&#8220;${escape(text)}&#8221;`;
}

export function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
