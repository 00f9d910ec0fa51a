/**
 * The webhook that tells approvers a call waits for them. The body is
 * Slack-compatible (a Slack incoming webhook renders it as is) and carries
 * the approval's facts as plain JSON for any other receiver. It never carries
 * the arguments nor their digest: argument values may be secret, and the
 * approver sees them in the console after signing in.
 *
 * Delivery is best effort and off the caller's path: a bounded queue, a few
 * posts at a time, retries with backoff for what may get better. The URL
 * often embeds a secret token, so only its origin is ever logged.
 */
import { setTimeout as wait } from 'node:timers/promises';
import type { Logger } from '../observability/log.js';
import type { PendingApproval } from './types.js';

export interface NotifySettings {
  url: string;
  headers?: Record<string, string>;
  /** Per attempt; default 5000. */
  timeoutMs?: number;
  /** Attempts after the first; default 3. */
  retries?: number;
}

export type NotifyFailure = 'timeout' | 'network' | 'status' | 'dropped';

/** Counted by the caller as metrics. */
export interface NotifyEvents {
  delivered(): void;
  /** Once per failed attempt; 'dropped' when the queue was full. */
  failed(reason: NotifyFailure): void;
}

export interface NotifierOptions {
  /** Waits between attempts; injectable so tests need not wait for real backoff. Must end early when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Notifications waiting or in flight at most; default 1000. */
  maxQueued?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_RETRIES = 3;
const DEFAULT_MAX_QUEUED = 1_000;
/** Enough to keep up with a burst without opening a connection per approval. */
const CONCURRENCY = 4;
const FIRST_DELAY_MS = 500;
/** An approval expires in minutes: waiting longer than this between attempts makes the news stale. */
const MAX_DELAY_MS = 10_000;
/** Slack refuses a section text over 3000 characters; the message gets most of it. */
const MAX_MESSAGE_CHARS = 1_500;
const MAX_NAME_CHARS = 200;

type Attempt = { ok: true } | { ok: false; reason: Exclude<NotifyFailure, 'dropped'>; retry: boolean; delayMs?: number; status?: number; code?: string };

interface Job {
  id: string;
  body: string;
}

export class ApprovalNotifier {
  private readonly waiting: Job[] = [];
  private active = 0;
  private idleWaiters: Array<() => void> = [];
  /** Set while notifications are being dropped, so a burst of drops logs one warning. */
  private dropping = false;
  private readonly closer = new AbortController();
  private readonly origin: string;
  private readonly headers: Headers;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly maxQueued: number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(
    private readonly settings: NotifySettings,
    private readonly events: NotifyEvents,
    private readonly log: Logger,
    options: NotifierOptions = {},
  ) {
    this.origin = originOf(settings.url);
    this.headers = new Headers(settings.headers);
    // The body is JSON whatever the configuration says.
    this.headers.set('content-type', 'application/json');
    this.timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = Math.max(0, settings.retries ?? DEFAULT_RETRIES);
    this.maxQueued = Math.max(1, options.maxQueued ?? DEFAULT_MAX_QUEUED);
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** Queues a notification for a pending approval; never throws, never blocks the caller. */
  notify(approval: PendingApproval, link: string): void {
    if (this.closer.signal.aborted) return;
    try {
      if (this.waiting.length + this.active >= this.maxQueued) return this.drop(approval.id);
      this.dropping = false;
      // Serialised now: the caller may change its object later, and a queued string is all that is kept.
      this.waiting.push({ id: approval.id, body: JSON.stringify(slackBody(approval, link)) });
      this.pump();
    } catch (err) {
      this.log.error('approval notification could not be queued', { approvalId: approval?.id, err });
    }
  }

  /** Resolves once every queued notification was delivered or given up (for tests and shutdown). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops retrying; pending deliveries are given up. */
  close(): void {
    this.waiting.length = 0;
    this.closer.abort();
    this.settle();
  }

  private drop(id: string): void {
    this.emit(() => this.events.failed('dropped'));
    if (this.dropping) return;
    this.dropping = true;
    this.log.warn('approval notifications are being dropped: too many wait for delivery', { approvalId: id, maxQueued: this.maxQueued, target: this.origin });
  }

  private pump(): void {
    while (this.active < CONCURRENCY && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.active++;
      this.deliver(job)
        .catch((err: unknown) => this.log.error('approval notification failed unexpectedly', { approvalId: job.id, err }))
        .finally(() => {
          this.active--;
          this.pump();
          this.settle();
        });
    }
  }

  private async deliver(job: Job): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(job.body);
      if (result.ok) return this.emit(() => this.events.delivered());
      // Given up by close(): the receiver did not fail, so nothing is counted.
      if (this.closer.signal.aborted) return;
      this.emit(() => this.events.failed(result.reason));
      const last = !result.retry || attempt > this.retries;
      this.log.warn('approval notification failed', {
        approvalId: job.id,
        attempt,
        reason: result.reason,
        status: result.status,
        code: result.code,
        target: this.origin,
        willRetry: !last,
      });
      if (last) return;
      await this.sleep(result.delayMs ?? backoff(attempt), this.closer.signal).catch(() => undefined);
      if (this.closer.signal.aborted) return;
    }
  }

  private async attempt(body: string): Promise<Attempt> {
    let response: Response;
    try {
      response = await fetch(this.settings.url, {
        method: 'POST',
        headers: this.headers,
        body,
        // Never hand the body and the configured headers to wherever a redirect points.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.closer.signal]),
      });
    } catch (err) {
      return failureOf(err);
    }
    // The answer's content does not matter; cancelling frees the connection.
    await response.body?.cancel().catch(() => undefined);
    if (response.ok) return { ok: true };
    return { ok: false, reason: 'status', status: response.status, retry: retryable(response.status), delayMs: retryAfter(response) };
  }

  private isIdle(): boolean {
    return this.active === 0 && this.waiting.length === 0;
  }

  private settle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** The caller's metric hooks must not break delivery (nor notify(), which never throws). */
  private emit(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error('approval notification metric hook threw', { err });
    }
  }
}

/** The POST body: Slack's `text` and `blocks`, and the approval's facts for any other receiver. */
export function slackBody(approval: PendingApproval, link: string): Record<string, unknown> {
  const principal = clip(approval.principal, MAX_NAME_CHARS);
  const exposed = clip(approval.exposed, MAX_NAME_CHARS);
  const server = clip(approval.server, MAX_NAME_CHARS);
  const tool = approval.tool === approval.exposed ? '' : ` (\`${clip(approval.tool, MAX_NAME_CHARS)}\` upstream)`;
  const message = clip(approval.message, MAX_MESSAGE_CHARS);
  const expires = new Date(approval.expiresAt).toISOString();
  const summary = `Approval needed: ${principal} wants to call ${exposed} on ${server}: ${message} (review: ${link})`.replace(/\s+/g, ' ');
  const who = `*${principal}* wants to call \`${exposed}\`${tool} on \`${server}\``;
  // Slack shows the expiry in the reader's own time zone, the ISO time where it cannot.
  const when = `Expires <!date^${Math.floor(approval.expiresAt / 1000)}^{date_short_pretty} at {time}|${expires}>`;
  return {
    text: summary,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${who}\n${message}\n${when}` } },
      { type: 'section', text: { type: 'mrkdwn', text: `<${linkTarget(link)}|Review the call>` } },
    ],
    approval: {
      id: approval.id,
      principal: approval.principal,
      server: approval.server,
      tool: approval.tool,
      exposed: approval.exposed,
      message: approval.message,
      approvers: approval.approvers,
      expiresAt: expires,
      link,
    },
  };
}

/** Slack reads `<…>` as a link or a mention: escaping its three control characters keeps caller text inert. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escaped, then cut to `max` characters without leaving half an entity behind. */
function clip(raw: string, max: number): string {
  const text = escapeMrkdwn(String(raw));
  if (text.length <= max) return text;
  return `${text.slice(0, max - 1).replace(/&[a-z]*$/, '')}…`;
}

/** The link is ours, but `|` or `>` in it would end Slack's link early. */
function linkTarget(link: string): string {
  return link.replace(/[<>|]/g, (c) => encodeURIComponent(c));
}

/** 500 ms, 1 s, 2 s… capped. */
function backoff(attempt: number): number {
  return Math.min(FIRST_DELAY_MS * 2 ** (attempt - 1), MAX_DELAY_MS);
}

/** A client error will not get better by asking again, except a timeout or a rate limit. */
function retryable(status: number): boolean {
  return status < 400 || status >= 500 || status === 408 || status === 429;
}

/** Retry-After in seconds on 429/503, capped; the HTTP-date form falls back to backoff. */
function retryAfter(response: Response): number | undefined {
  if (response.status !== 429 && response.status !== 503) return undefined;
  const value = response.headers.get('retry-after')?.trim();
  if (!value || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value) * 1000, MAX_DELAY_MS);
}

function failureOf(err: unknown): Attempt {
  if ((err as { name?: unknown } | undefined)?.name === 'TimeoutError') return { ok: false, reason: 'timeout', retry: true };
  // undici's message and cause may name the URL: only the error code is kept.
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  return { ok: false, reason: 'network', retry: true, code };
}

/** The URL's origin only: its path and query often carry the webhook's secret. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return wait(ms, undefined, { signal }).catch(() => undefined);
}
