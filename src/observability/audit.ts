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
  /** Namespaced by credential kind: apikey:<id>, jwt:<issuer>#<sub>, stdio:<id>, anonymous. */
  principal: string;
  principalKind: 'apikey' | 'jwt' | 'stdio' | 'anonymous';
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
  /** Rule conditions that failed to evaluate on this request (fail closed: a deny or require among them denied). */
  conditionErrors?: { ruleId: string; error: string }[];
  code?: string;
  outcome: 'ok' | 'error' | 'denied';
  error?: string;
  latencyMs: number;
  args?: unknown;
  /** With contracts checked: the contract the call was decided on (status, live hash, approved hash). */
  contract?: { status: string; hash?: string; approvedHash?: string; drifted?: string[] };
  /** Argument problems that "warn" validation let through. */
  argumentProblems?: { path: string; message: string }[];
}

/** A record that is not about one request (a contract drift, a lint finding): its own `type`. */
export interface AuditEvent {
  type: string;
  time: string;
  [field: string]: unknown;
}

export interface AuditSink {
  readonly includeArgs: boolean;
  write(record: AuditRecord): void;
  writeEvent(event: AuditEvent): void;
  close(): Promise<void>;
}

export function createAuditSink(settings: { file: string; includeArgs: boolean }, write?: (line: string) => void): AuditSink {
  const sink = write ? undefined : batched(settings.file === '-' ? stderrTarget() : fileTarget(settings.file));
  const out = write ?? sink!.write;
  return {
    includeArgs: settings.includeArgs,
    write(record) {
      out(`${JSON.stringify({ type: 'audit', ...record })}\n`);
    },
    writeEvent(event) {
      out(`${JSON.stringify(event)}\n`);
    },
    close: () => sink?.close() ?? Promise.resolve(),
  };
}

interface Target {
  write(text: string): void;
  close(): Promise<void>;
}

/**
 * The lines of one event-loop turn go out in one write: a write per call
 * (a system call each, to stderr or the file) cost 3–4 % of the gateway's
 * CPU under load (bench/profile.mjs).
 */
function batched(target: Target): { write(line: string): void; close(): Promise<void> } {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    target.write(text);
  };
  return {
    write(line) {
      if (pending.push(line) === 1) setImmediate(flush);
    },
    close() {
      flush();
      return target.close();
    },
  };
}

function stderrTarget(): Target {
  return { write: (text) => void process.stderr.write(text), close: async () => {} };
}

/** Appends to the file, 0600, opened on the first line. */
function fileTarget(path: string): Target {
  let stream: WriteStream | undefined;
  return {
    write: (text) => void (stream ??= createWriteStream(path, { flags: 'a', mode: 0o600 })).write(text),
    close: () => new Promise((resolve) => (stream ? stream.end(resolve) : resolve())),
  };
}
