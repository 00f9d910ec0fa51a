/**
 * ApprovalNotifier against a real local HTTP server: what arrives (body
 * shape, escaping, headers, never the arguments), what is retried and how
 * long it waits (through the injected sleep, so no test waits for real
 * backoff), the failure reasons counted, the bound, and logs that never
 * carry the webhook's secret.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApprovalNotifier, type NotifyFailure, type NotifySettings, slackBody } from '../../../src/approvals/notify.js';
import type { PendingApproval } from '../../../src/approvals/types.js';
import { createLogger } from '../../../src/observability/log.js';
import { freePort } from '../../helpers/processes.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Handler = (req: Received, res: ServerResponse, index: number) => void;

const servers: Server[] = [];
const notifiers: ApprovalNotifier[] = [];

afterEach(async () => {
  for (const n of notifiers.splice(0)) n.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A webhook receiver on 127.0.0.1; `arrived(n)` resolves once n posts have been read in full. */
async function receiver(handler: Handler = (_req, res) => res.writeHead(200).end('ok')) {
  const received: Received[] = [];
  const watchers: Array<{ n: number; resolve: () => void }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      received.push(entry);
      for (const w of watchers.filter((w) => received.length >= w.n)) w.resolve();
      handler(entry, res, received.length - 1);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const arrived = (n: number) => new Promise<void>((resolve) => (received.length >= n ? resolve() : watchers.push({ n, resolve })));
  return { url, received, arrived };
}

/** A notifier whose sleeps return at once and are recorded, whose events and log lines are collected. */
function setup(settings: NotifySettings, maxQueued?: number) {
  const events = { delivered: 0, failed: [] as NotifyFailure[] };
  const sleeps: number[] = [];
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', write: (line) => lines.push(line) });
  const notifier = new ApprovalNotifier(settings, { delivered: () => void events.delivered++, failed: (reason) => void events.failed.push(reason) }, log, {
    sleep: async (ms) => void sleeps.push(ms),
    maxQueued,
  });
  notifiers.push(notifier);
  return { notifier, events, sleeps, lines };
}

const SECRET_ARG = 'sk-live-4f9a0c1d2e3b5a6978';
const DIGEST = 'c0ffee1234567890deadbeefcafef00d0123456789abcdef0123456789abcdef';
const LINK = 'https://gateway.example/console/approvals/ap_123';

function approval(overrides: Partial<PendingApproval> = {}): PendingApproval {
  return {
    id: 'ap_123',
    principal: 'alice@example.com',
    server: 'files',
    tool: 'write_file',
    exposed: 'files__write_file',
    arguments: { path: '/etc/app.env', content: `API_KEY=${SECRET_ARG}` },
    digest: DIGEST,
    policyVersion: 'v7',
    ruleId: 'writes-need-approval',
    approvers: [{ kind: 'group', name: 'ops' }],
    message: 'Writes to the filesystem need a yes from ops.',
    requestId: 'req-9',
    replica: 'replica-a',
    createdAt: Date.UTC(2025, 0, 2, 3, 4, 5),
    expiresAt: Date.UTC(2025, 0, 2, 3, 9, 5),
    ...overrides,
  };
}

type Block = { type: string; text: { type: string; text: string } };
const mrkdwn = (body: Record<string, unknown>) => (body.blocks as Block[]).map((b) => b.text.text).join('\n');

describe('the body', () => {
  it('is Slack-compatible text and blocks plus the approval facts, and never the arguments nor their digest', async () => {
    const hook = await receiver();
    const { notifier, events } = setup({ url: hook.url });
    notifier.notify(approval(), LINK);
    await notifier.idle();

    expect(hook.received).toHaveLength(1);
    const [post] = hook.received;
    expect(post!.method).toBe('POST');
    expect(post!.headers['content-type']).toBe('application/json');
    const body = JSON.parse(post!.body) as Record<string, unknown>;
    expect(body.text).toBe(
      `Approval needed: alice@example.com wants to call files__write_file on files: Writes to the filesystem need a yes from ops. (review: ${LINK})`,
    );
    const blocks = body.blocks as Block[];
    expect(blocks.map((b) => [b.type, b.text.type])).toEqual([
      ['section', 'mrkdwn'],
      ['section', 'mrkdwn'],
    ]);
    expect(blocks[0]!.text.text).toContain('*alice@example.com* wants to call `files__write_file` (`write_file` upstream) on `files`');
    expect(blocks[0]!.text.text).toContain('Writes to the filesystem need a yes from ops.');
    expect(blocks[0]!.text.text).toContain('2025-01-02T03:09:05.000Z');
    expect(blocks[1]!.text.text).toBe(`<${LINK}|Review the call>`);
    expect(body.approval).toEqual({
      id: 'ap_123',
      principal: 'alice@example.com',
      server: 'files',
      tool: 'write_file',
      exposed: 'files__write_file',
      message: 'Writes to the filesystem need a yes from ops.',
      approvers: [{ kind: 'group', name: 'ops' }],
      expiresAt: '2025-01-02T03:09:05.000Z',
      link: LINK,
    });
    for (const forbidden of [SECRET_ARG, DIGEST, '/etc/app.env', '"arguments"', '"digest"']) expect(post!.body).not.toContain(forbidden);
    expect(events).toEqual({ delivered: 1, failed: [] });
  });

  it("escapes Slack's control characters in a hostile principal, tool name and message, so none can inject a link or mention", async () => {
    const hook = await receiver();
    const { notifier } = setup({ url: hook.url });
    const hostile = approval({
      principal: '<@U0ADMIN>',
      tool: 'x<https://evil.example|Approve now>',
      exposed: 'files__<!channel>',
      server: 'a&b',
      message: 'Fine <https://phish.example|click here> & <!here>',
    });
    notifier.notify(hostile, LINK);
    await notifier.idle();

    const body = JSON.parse(hook.received[0]!.body) as Record<string, unknown>;
    const rendered = `${String(body.text)}\n${mrkdwn(body)}`;
    for (const injected of ['<https://evil', '<https://phish', '<!channel>', '<!here>', '<@U0ADMIN>', 'a&b']) expect(rendered).not.toContain(injected);
    expect(rendered).toContain('&lt;https://phish.example|click here&gt; &amp; &lt;!here&gt;');
    expect(rendered).toContain(
      '*&lt;@U0ADMIN&gt;* wants to call `files__&lt;!channel&gt;` (`x&lt;https://evil.example|Approve now&gt;` upstream) on `a&amp;b`',
    );
    // The only links left are ours: the review link and the expiry date.
    expect(mrkdwn(body).match(/<[^ ]/g)).toHaveLength(2);
    // Plain JSON for other receivers keeps the values as they are.
    expect(body.approval).toMatchObject({ principal: '<@U0ADMIN>', tool: hostile.tool, exposed: hostile.exposed, message: hostile.message });
  });

  it('keeps a long message within what Slack accepts, without cutting an entity in half', () => {
    const body = slackBody(approval({ message: `${'x'.repeat(1497)}&&&&` }), LINK);
    const text = (body.blocks as Block[])[0]!.text.text;
    expect(text.length).toBeLessThan(3000);
    expect(text).toMatch(/x…\n/);
    expect(text).not.toMatch(/&(?!amp;)/);
  });
});

describe('delivery', () => {
  it('sends the configured headers with the JSON content type', async () => {
    const hook = await receiver();
    const { notifier, events } = setup({ url: hook.url, headers: { authorization: 'Bearer abc', 'X-Team': 'ops', 'Content-Type': 'text/plain' } });
    notifier.notify(approval(), LINK);
    await notifier.idle();
    expect(hook.received[0]!.headers).toMatchObject({ authorization: 'Bearer abc', 'x-team': 'ops', 'content-type': 'application/json' });
    expect(events.delivered).toBe(1);
  });

  it('retries a 500 after 500 ms and counts one failure and one delivery', async () => {
    const hook = await receiver((_req, res, i) => res.writeHead(i === 0 ? 500 : 204).end());
    const { notifier, events, sleeps } = setup({ url: hook.url });
    notifier.notify(approval(), LINK);
    await notifier.idle();
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]!.body).toBe(hook.received[0]!.body);
    expect(events).toEqual({ delivered: 1, failed: ['status'] });
    expect(sleeps).toEqual([500]);
  });

  it('backs off exponentially up to 10 s, and gives up after the configured retries', async () => {
    const hook = await receiver((_req, res) => res.writeHead(502).end());
    const { notifier, events, sleeps } = setup({ url: hook.url, retries: 6 });
    notifier.notify(approval(), LINK);
    await notifier.idle();
    expect(hook.received).toHaveLength(7);
    expect(sleeps).toEqual([500, 1000, 2000, 4000, 8000, 10000]);
    expect(events).toEqual({ delivered: 0, failed: Array(7).fill('status') });
  });

  it.each([400, 401, 404, 422])('does not retry a %i', async (status) => {
    const hook = await receiver((_req, res) => res.writeHead(status).end());
    const { notifier, events, sleeps } = setup({ url: hook.url });
    notifier.notify(approval(), LINK);
    await notifier.idle();
    expect(hook.received).toHaveLength(1);
    expect(events).toEqual({ delivered: 0, failed: ['status'] });
    expect(sleeps).toEqual([]);
  });

  it('retries a 408', async () => {
    const hook = await receiver((_req, res, i) => res.writeHead(i === 0 ? 408 : 200).end());
    const { notifier, events } = setup({ url: hook.url });
    notifier.notify(approval(), LINK);
    await notifier.idle();
    expect(hook.received).toHaveLength(2);
    expect(events).toEqual({ delivered: 1, failed: ['status'] });
  });

  it('honours Retry-After on 429 and 503, capped at 10 s', async () => {
    const answers: Array<[number, Record<string, string>]> = [
      [429, { 'retry-after': '3' }],
      [503, { 'retry-after': '120' }],
      [429, { 'retry-after': 'Wed, 21 Oct 2037 07:28:00 GMT' }],
      [200, {}],
    ];
    const hook = await receiver((_req, res, i) => res.writeHead(...answers[i]!).end());
    const { notifier, events, sleeps } = setup({ url: hook.url });
    notifier.notify(approval(), LINK);
    await notifier.idle();
    // The date form is not honoured: the third wait is the plain backoff.
    expect(sleeps).toEqual([3000, 10000, 2000]);
    expect(events).toEqual({ delivered: 1, failed: ['status', 'status', 'status'] });
  });

  it("counts a receiver that never answers as 'timeout'", async () => {
    const hook = await receiver(() => {});
    const { notifier, events, sleeps } = setup({ url: hook.url, timeoutMs: 50, retries: 1 });
    notifier.notify(approval(), LINK);
    await notifier.idle();
    expect(hook.received).toHaveLength(2);
    expect(events).toEqual({ delivered: 0, failed: ['timeout', 'timeout'] });
    expect(sleeps).toEqual([500]);
  });

  it("counts a refused connection as 'network'", async () => {
    const port = await freePort();
    const { notifier, events, lines } = setup({ url: `http://127.0.0.1:${port}/hook`, retries: 2 });
    notifier.notify(approval(), LINK);
    await notifier.idle();
    expect(events).toEqual({ delivered: 0, failed: ['network', 'network', 'network'] });
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({ level: 'warn', approvalId: 'ap_123', attempt: 3, reason: 'network', code: 'ECONNREFUSED', willRetry: false }),
    );
  });

  it('posts at most 4 at a time', async () => {
    // Posts are held until 4 are open, then answered together a little later: a fifth would arrive in that gap.
    const held: ServerResponse[] = [];
    let most = 0;
    const hook = await receiver((_req, res) => {
      most = Math.max(most, held.push(res));
      if (held.length === 4) setTimeout(() => held.splice(0).forEach((r) => r.writeHead(200).end()), 20);
    });
    const { notifier, events } = setup({ url: hook.url });
    for (let i = 0; i < 12; i++) notifier.notify(approval({ id: `ap_${i}` }), LINK);
    await notifier.idle();
    expect(hook.received).toHaveLength(12);
    expect(most).toBe(4);
    expect(events.delivered).toBe(12);
  });
});

describe('the bound', () => {
  it("drops notifications beyond maxQueued with 'dropped', warning once per burst", async () => {
    const held: ServerResponse[] = [];
    const hook = await receiver((_req, res) => held.push(res));
    const { notifier, events, lines } = setup({ url: hook.url }, 2);
    for (let i = 0; i < 5; i++) notifier.notify(approval({ id: `ap_${i}` }), LINK);
    expect(events.failed).toEqual(['dropped', 'dropped', 'dropped']);
    const warnings = () => lines.filter((l) => l.includes('being dropped'));
    expect(warnings()).toHaveLength(1);

    await hook.arrived(2);
    for (const res of held.splice(0)) res.writeHead(200).end();
    await notifier.idle();
    expect(hook.received.map((r) => (JSON.parse(r.body) as { approval: { id: string } }).approval.id)).toEqual(['ap_0', 'ap_1']);
    expect(events.delivered).toBe(2);

    // Room again ends the burst: the next one to overflow warns anew.
    for (let i = 5; i < 8; i++) notifier.notify(approval({ id: `ap_${i}` }), LINK);
    expect(events.failed).toEqual(['dropped', 'dropped', 'dropped', 'dropped']);
    expect(warnings()).toHaveLength(2);
  });
});

describe('logs', () => {
  it("name the approval, the attempt and the reason, and only the webhook's origin: never its path, query or headers", async () => {
    const hook = await receiver((_req, res) => res.writeHead(500).end());
    const url = `${hook.url.replace('/hook', '/services/T0/B0/PATHSECRET')}?token=QUERYSECRET`;
    const { notifier, lines } = setup({ url, retries: 1, headers: { authorization: 'Bearer HEADERSECRET' } }, 1);
    notifier.notify(approval(), LINK);
    notifier.notify(approval({ id: 'ap_dropped' }), LINK);
    await notifier.idle();

    expect(hook.received[0]!.url).toBe('/services/T0/B0/PATHSECRET?token=QUERYSECRET');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const origin = new URL(hook.url).origin;
    expect(records).toEqual([
      expect.objectContaining({ level: 'warn', approvalId: 'ap_dropped', target: origin }),
      expect.objectContaining({ level: 'warn', approvalId: 'ap_123', attempt: 1, reason: 'status', status: 500, target: origin, willRetry: true }),
      expect.objectContaining({ level: 'warn', approvalId: 'ap_123', attempt: 2, reason: 'status', status: 500, target: origin, willRetry: false }),
    ]);
    for (const secret of ['PATHSECRET', 'QUERYSECRET', 'HEADERSECRET', 'token=']) expect(lines.join('\n')).not.toContain(secret);
  });
});

describe('close and idle', () => {
  it('idle() resolves at once when nothing is queued', async () => {
    const { notifier } = setup({ url: 'http://127.0.0.1:9/hook' });
    await expect(notifier.idle()).resolves.toBeUndefined();
  });

  it('close() stops retrying and gives up what is queued, without counting it as a failure of the receiver', async () => {
    const held: ServerResponse[] = [];
    const hook = await receiver((_req, res, i) => (i === 0 ? res.writeHead(500).end() : held.push(res)));
    const events = { delivered: 0, failed: [] as NotifyFailure[] };
    let sleeping: () => void = () => {};
    const asleep = new Promise<void>((resolve) => (sleeping = resolve));
    const notifier = new ApprovalNotifier(
      { url: hook.url, retries: 5 },
      { delivered: () => void events.delivered++, failed: (reason) => void events.failed.push(reason) },
      createLogger({ write: () => {} }),
      {
        // A real wait that only close() ends.
        sleep: (_ms, signal) => {
          sleeping();
          return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        },
      },
    );
    notifiers.push(notifier);
    notifier.notify(approval({ id: 'ap_retrying' }), LINK);
    await asleep;
    for (let i = 0; i < 6; i++) notifier.notify(approval({ id: `ap_${i}` }), LINK);
    await hook.arrived(4);

    notifier.close();
    await notifier.idle();
    notifier.notify(approval({ id: 'ap_late' }), LINK);
    await notifier.idle();

    // The first post, then 3 of the 6 queued (the retrying one holds the fourth slot while it waits);
    // the retry, the other 3 and the late one never go, and the held posts are abandoned uncounted.
    expect(hook.received).toHaveLength(4);
    expect(events).toEqual({ delivered: 0, failed: ['status'] });
  });

  it('never throws into the caller, even when the URL is unusable or the metric hooks throw', async () => {
    const lines: string[] = [];
    const notifier = new ApprovalNotifier(
      { url: 'not a url', retries: 0 },
      {
        delivered: () => {
          throw new Error('metrics down');
        },
        failed: () => {
          throw new Error('metrics down');
        },
      },
      createLogger({ write: (line) => lines.push(line) }),
      { maxQueued: 1 },
    );
    notifiers.push(notifier);
    expect(() => {
      notifier.notify(approval(), LINK);
      notifier.notify(approval({ id: 'ap_2' }), LINK);
    }).not.toThrow();
    await notifier.idle();
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toContainEqual(expect.objectContaining({ approvalId: 'ap_123', reason: 'network', target: '(invalid URL)' }));
    expect(records.filter((r) => r.msg === 'approval notification metric hook threw')).toHaveLength(2);
  });
});
