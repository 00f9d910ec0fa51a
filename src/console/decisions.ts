/**
 * The console's live decision stream: audit records as they are written, to
 * each signed-in page over Server-Sent Events, filtered by principal, server,
 * tool and effect. A page that stops reading is not waited for: past
 * MAX_BUFFERED bytes its lines are dropped and counted, and it is told how
 * many when it catches up. At most MAX_STREAMS pages at once.
 */
import type { Request, Response } from 'express';
import type { AuditSink } from '../observability/audit.js';

const MAX_BUFFERED = 1024 * 1024;
const MAX_STREAMS = 20;
const HEARTBEAT_MS = 15_000;

export interface DecisionFilter {
  principal?: string;
  server?: string;
  tool?: string;
  effect?: 'allow' | 'deny';
}

export class DecisionStreams {
  private open = 0;

  constructor(private readonly audit: AuditSink) {}

  /** `live`: whether the page's sign-in still holds; checked for every line and heartbeat, the stream ends when it does not. */
  serve(req: Request, res: Response, live: () => boolean): void {
    if (this.open >= MAX_STREAMS) return void res.status(429).json({ error: `at most ${MAX_STREAMS} live streams at once` });
    const filter = filterOf(req.query);
    this.open++;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(': live audit records\n\n');
    let dropped = 0;
    const unsubscribe = this.audit.subscribe((line) => {
      if (!live()) return void res.end();
      const record = parse(line);
      if (!record || !matches(record, filter)) return;
      if (res.writableLength > MAX_BUFFERED) return void dropped++;
      if (dropped > 0) {
        res.write(`event: dropped\ndata: ${dropped}\n\n`);
        dropped = 0;
      }
      res.write(`event: record\ndata: ${line.trimEnd()}\n\n`);
    });
    const heartbeat = setInterval(() => (live() ? res.write(': keep-alive\n\n') : res.end()), HEARTBEAT_MS);
    heartbeat.unref();
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.open--;
    });
  }
}

function filterOf(query: Request['query']): DecisionFilter {
  const text = (key: string) => (typeof query[key] === 'string' && query[key] !== '' ? (query[key] as string) : undefined);
  const effect = text('effect');
  return {
    ...(text('principal') ? { principal: text('principal')! } : {}),
    ...(text('server') ? { server: text('server')! } : {}),
    ...(text('tool') ? { tool: text('tool')! } : {}),
    ...(effect === 'allow' || effect === 'deny' ? { effect } : {}),
  };
}

function parse(line: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    return value.type === 'audit' ? value : undefined;
  } catch {
    return undefined;
  }
}

function matches(r: Record<string, unknown>, f: DecisionFilter): boolean {
  if (f.principal && r.principal !== f.principal) return false;
  if (f.server && r.server !== f.server) return false;
  if (f.tool && r.name !== f.tool && r.original !== f.tool) return false;
  if (f.effect && r.decision !== f.effect) return false;
  return true;
}
