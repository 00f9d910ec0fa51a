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
  let stream: WriteStream | undefined;
  const out =
    write ??
    (settings.file === '-'
      ? (line: string) => void process.stderr.write(line)
      : (line: string) => void (stream ??= createWriteStream(settings.file, { flags: 'a', mode: 0o600 })).write(line));
  return {
    includeArgs: settings.includeArgs,
    write(record) {
      out(`${JSON.stringify({ type: 'audit', ...record })}\n`);
    },
    close: () => new Promise((resolve) => (stream ? stream.end(resolve) : resolve())),
  };
}
