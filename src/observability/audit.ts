/**
 * The audit trail: one JSON line per decision, to a file or stderr. It says
 * who did what, which rule decided and how it ended; argument values only
 * when `audit.includeArgs` is on, and never credentials.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export interface AuditRecord {
  time: string;
  /** The same id the request's log lines carry. */
  requestId?: string;
  /** The W3C trace this request belongs to, when tracing is on. */
  traceId?: string;
  /** For servers that act as the caller: which kind of credential the call used, and the identity it carries upstream (never the token). */
  credential?: 'user-oauth' | 'token-exchange';
  upstreamSubject?: string;
  principal: string;
  session: string;
  transport: string;
  /** The profile whose endpoint the call came through. */
  profile?: string;
  method: string;
  server?: string;
  name?: string;
  original?: string;
  decision: 'allow' | 'deny' | 'none';
  ruleId?: string;
  reason?: string;
  code?: string;
  outcome: 'ok' | 'error' | 'denied';
  error?: string;
  latencyMs: number;
  args?: unknown;
}

export interface AuditSink {
  readonly includeArgs: boolean;
  write(record: AuditRecord): void;
  close(): Promise<void>;
}

export function createAuditSink(settings: { file: string; includeArgs: boolean }, write?: (line: string) => void): AuditSink {
  const file = write || settings.file === '-' ? undefined : batchedFileWriter(settings.file);
  const out = write ?? file?.write ?? ((line: string) => void process.stderr.write(line));
  return {
    includeArgs: settings.includeArgs,
    write(record) {
      out(`${JSON.stringify({ type: 'audit', ...record })}\n`);
    },
    close: () => file?.close() ?? Promise.resolve(),
  };
}

/**
 * Appends lines to the audit file, the lines of one event-loop turn in one
 * write: a stream write per call cost about 3 % of the gateway's CPU under
 * load (bench/profile.mjs). The file is opened on the first line.
 */
function batchedFileWriter(path: string): { write(line: string): void; close(): Promise<void> } {
  let stream: WriteStream | undefined;
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    (stream ??= createWriteStream(path, { flags: 'a', mode: 0o600 })).write(text);
  };
  return {
    write(line) {
      if (pending.push(line) === 1) setImmediate(flush);
    },
    close() {
      flush();
      return new Promise((resolve) => (stream ? stream.end(resolve) : resolve()));
    },
  };
}
