/**
 * The audit trail: one record per decision and per contract event, each a
 * JSON line sealed into a per-writer hash chain (audit/chain.ts), to a file
 * that rotates, or to stderr. It says who did what, which rule decided and
 * how it ended; argument values only when `audit.includeArgs` is on (without
 * the `audit.redact` paths), their digest always, and never credentials.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.js';
import { AuditChain, writerId } from './audit/chain.js';
import type { AuditRecord } from './audit/record.js';
import { redact } from './audit/redact.js';
import { ChainedSink, type AuditHealth } from './audit/sink.js';
import { signerFromPem, type Signer } from './audit/signing.js';
import { fileTarget, stderrTarget, type Rotation } from './audit/target.js';

export type { AuditRecord } from './audit/record.js';
export type { AuditHealth } from './audit/sink.js';

/** A record that is not about one request (a contract drift, a lint finding): its own `type`. */
export interface AuditEvent {
  type: string;
  time: string;
  [field: string]: unknown;
}

export interface AuditSettings {
  /** "-" (stderr) or an absolute path. */
  file: string;
  includeArgs: boolean;
  /** Paths removed from recorded arguments ("password", "auth.token", "items.*.secret"). */
  redact: string[];
  rotate?: Rotation;
  /** Absolute path of an Ed25519 private key (PEM): signed checkpoints. */
  signingKey?: string;
  checkpointEvery: number;
  checkpointMs: number;
}

export interface AuditSink {
  readonly includeArgs: boolean;
  /** The arguments as they may be recorded: `audit.redact` paths removed. */
  recordable(args: unknown): unknown;
  /** `nestedCanonical`: the builder put the record's nested values in JCS form and checked them (the fast path). */
  write(record: AuditRecord, nestedCanonical?: boolean): void;
  writeEvent(event: AuditEvent): void;
  health(): AuditHealth;
  /** Every line as it is written, from now on (a listener must not throw); returns the unsubscribe. */
  subscribe(listener: (line: string) => void): () => void;
  close(): Promise<void>;
}

export interface AuditOptions {
  /** Lines go here, one by one, instead of the file (tests; commands that serve no one). */
  write?: (line: string) => void;
  /** Names this process's chain: the replica id, else the host name. */
  replica: string;
  version: string;
  onDropped?: (records: number) => void;
}

export function createAuditSink(settings: AuditSettings, options: AuditOptions): AuditSink {
  const signer = settings.signingKey ? loadSigner(settings.signingKey) : undefined;
  const target = options.write ?? (settings.file === '-' ? stderrTarget() : fileTarget(settings.file, settings.rotate));
  const sink = new ChainedSink(target, {
    chain: new AuditChain(writerId(options.replica, new Date())),
    version: options.version,
    ...(signer ? { signer } : {}),
    checkpointEvery: settings.checkpointEvery,
    checkpointMs: settings.checkpointMs,
    ...(options.onDropped ? { onDropped: options.onDropped } : {}),
  });
  return {
    includeArgs: settings.includeArgs,
    recordable: (args) => (settings.redact.length > 0 ? redact(args, settings.redact) : args),
    write: (record, nestedCanonical = false) => sink.push(record as unknown as Record<string, unknown>, true, nestedCanonical),
    writeEvent: (event) => sink.push(withoutReserved(event)),
    health: () => sink.health(),
    subscribe: (listener) => sink.subscribe(listener),
    close: () => sink.close(),
  };
}

function loadSigner(file: string): Signer {
  try {
    return signerFromPem(readFileSync(file));
  } catch (err) {
    const message = `cannot use audit.signingKey: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    throw new ConfigError([
      { file, path: 'gateway.audit.signingKey', message, fix: 'an Ed25519 private key in PEM: openssl genpkey -algorithm ed25519 -out audit-signing.pem' },
    ]);
  }
}

/** The chain's own keys are the chain's: an event that carries one keeps it under "data" instead. */
const RESERVED = ['hash', 'signature', 'writer', 'seq', 'prev'];

function withoutReserved(event: AuditEvent): Record<string, unknown> {
  if (!RESERVED.some((key) => Object.hasOwn(event, key))) return event;
  const out: Record<string, unknown> = {};
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) (RESERVED.includes(key) ? data : out)[key] = value;
  return { ...out, data };
}
