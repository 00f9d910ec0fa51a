/**
 * The chained audit sink: the audit-start line first; one write per event-loop
 * turn to a Target (a function target gets each line at once); a target that
 * falls behind or fails gets nothing until it recovers, and then one audit-gap
 * line with the count; signed checkpoints every N lines, every checkpointMs and
 * last at close. createAuditSink (the sink the gateway builds) on top.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../../../src/core/errors.js';
import { canonicalHash } from '../../../../src/infra/canonical.js';
import { createAuditSink, type AuditRecord, type AuditSettings } from '../../../../src/observability/audit.js';
import { AuditChain } from '../../../../src/observability/audit/chain.js';
import { ChainedSink, MAX_QUEUE_BYTES, type ChainedSinkOptions } from '../../../../src/observability/audit/sink.js';
import { keyIdOf, signerFromPem, verifySignature } from '../../../../src/observability/audit/signing.js';
import type { Target } from '../../../../src/observability/audit/target.js';
import { verifyAudit } from '../../../../src/observability/audit/verify.js';

type Line = Record<string, unknown>;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const linesOf = (text: string): Line[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);

/** A Target whose lag and failure the test sets; what it is given while failing is lost (a full disk), and it says so. */
class FakeTarget implements Target {
  readonly writes: string[] = [];
  readonly lost: string[] = [];
  lag = 0;
  error: string | undefined;
  closed = false;
  write(text: string): boolean {
    if (this.error) {
      this.lost.push(text);
      return false;
    }
    this.writes.push(text);
    return true;
  }
  pending(): number {
    return this.lag;
  }
  failure(): string | undefined {
    return this.error;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  get text(): string {
    return this.writes.join('');
  }
  get lines(): Line[] {
    return linesOf(this.text);
  }
}

function keys() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    publicKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    signer: signerFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' })),
  };
}

function options(over: Partial<ChainedSinkOptions> = {}): ChainedSinkOptions {
  return { chain: new AuditChain('test@2026-01-01T00:00:00.000Z'), version: '9.9.9', checkpointEvery: 1000, checkpointMs: 60_000, ...over };
}

const record = (n: number) => ({ type: 'audit', time: '2026-01-01T00:00:00.000Z', n });

describe('ChainedSink with a function target', () => {
  it('writes the audit-start line first, then each record at once, each a chained line', () => {
    const lines: string[] = [];
    const sink = new ChainedSink((line) => void lines.push(line), options());
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'audit-start', version: '9.9.9', writer: 'test@2026-01-01T00:00:00.000Z', seq: 0, prev: null });
    sink.push(record(1));
    sink.push(record(2));
    expect(lines).toHaveLength(3);
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    expect(lines.map((l) => JSON.parse(l).seq)).toEqual([0, 1, 2]);
    expect(JSON.parse(lines[2]!)).toMatchObject({ type: 'audit', n: 2 });
    expect(verifyAudit([{ file: 'f', text: lines.join('') }])).toMatchObject({ ok: true, lines: 3 });
    expect(sink.health()).toEqual({ state: 'ok', queuedBytes: 0, dropped: 0 });
  });
});

describe('ChainedSink with a Target', () => {
  it('writes once per event-loop turn, the audit-start line first', async () => {
    const target = new FakeTarget();
    const sink = new ChainedSink(target, options());
    sink.push(record(1));
    sink.push(record(2));
    sink.push(record(3));
    expect(target.writes).toHaveLength(0);
    await turn();
    expect(target.writes).toHaveLength(1);
    expect(linesOf(target.writes[0]!).map((l) => l.type)).toEqual(['audit-start', 'audit', 'audit', 'audit']);
    sink.push(record(4));
    sink.push(record(5));
    await turn();
    expect(target.writes).toHaveLength(2);
    expect(linesOf(target.writes[1]!).map((l) => l.n)).toEqual([4, 5]);
    await turn();
    expect(target.writes).toHaveLength(2);
    expect(verifyAudit([{ file: 'f', text: target.text }])).toMatchObject({ ok: true, lines: 6 });
  });

  it('holds lines back from a target more than MAX_QUEUE_BYTES behind, counts them, and writes ONE audit-gap line when it recovers', async () => {
    const target = new FakeTarget();
    const dropped: number[] = [];
    const sink = new ChainedSink(target, options({ onDropped: (n) => void dropped.push(n) }));
    await turn();
    sink.push(record(1));
    await turn();
    expect(target.writes).toHaveLength(2);

    target.lag = MAX_QUEUE_BYTES + 1;
    sink.push(record(2));
    sink.push(record(3));
    await turn();
    sink.push(record(4));
    await turn();
    expect(target.writes).toHaveLength(2);
    expect(dropped).toEqual([2, 1]);
    expect(sink.health()).toEqual({ state: 'lagging', queuedBytes: MAX_QUEUE_BYTES + 1, dropped: 3 });

    target.lag = MAX_QUEUE_BYTES; // not MORE than the limit: writes again
    expect(sink.health()).toEqual({ state: 'ok', queuedBytes: MAX_QUEUE_BYTES, dropped: 3 });
    sink.push(record(5));
    sink.push(record(6));
    await turn();
    sink.push(record(7));
    await turn();
    const lines = target.lines;
    expect(lines.map((l) => l.type)).toEqual(['audit-start', 'audit', 'audit-gap', 'audit', 'audit', 'audit']);
    expect(lines[2]).toMatchObject({ type: 'audit-gap', dropped: 3, seq: 2 });
    expect(typeof lines[2]!.reason).toBe('string');
    expect(lines.slice(3).map((l) => l.n)).toEqual([5, 6, 7]);
    expect(verifyAudit([{ file: 'f', text: target.text }])).toMatchObject({ ok: true, problems: [] });
    expect(sink.health().dropped).toBe(3);
  });

  it('reports a target that cannot write as failed, with its error class, and counts what it could not take', async () => {
    const target = new FakeTarget();
    const dropped: number[] = [];
    const sink = new ChainedSink(target, options({ onDropped: (n) => void dropped.push(n) }));
    await turn();
    target.error = 'ENOSPC';
    expect(sink.health()).toEqual({ state: 'failed', queuedBytes: 0, dropped: 0, error: 'ENOSPC' });
    sink.push(record(1));
    sink.push(record(2));
    await turn();
    sink.push(record(3));
    await turn();
    expect(dropped).toEqual([2, 1]);
    expect(sink.health()).toEqual({ state: 'failed', queuedBytes: 0, dropped: 3, error: 'ENOSPC' });
  });

  // While the target fails, a batch is not sealed (the target says it did not write it): one audit-gap line
  // with the count comes before the next records, and the chain verifies.
  it('after a failure, writes one audit-gap line with the count before the next records, and the chain verifies', async () => {
    const target = new FakeTarget();
    const sink = new ChainedSink(target, options());
    await turn();
    target.error = 'ENOSPC';
    sink.push(record(1));
    await turn();
    sink.push(record(2));
    await turn();
    target.error = undefined;
    sink.push(record(3));
    await turn();
    const lines = target.lines;
    expect(lines.map((l) => l.type)).toEqual(['audit-start', 'audit-gap', 'audit']);
    expect(lines[1]).toMatchObject({ dropped: 2 });
    expect(lines[2]).toMatchObject({ n: 3 });
    expect(verifyAudit([{ file: 'f', text: target.text }]).problems).toEqual([]);
  });

  it('at close writes what is pending, then the final checkpoint, and closes the target; later pushes are ignored', async () => {
    const { signer, publicKey } = keys();
    const target = new FakeTarget();
    const sink = new ChainedSink(target, options({ signer }));
    sink.push(record(1));
    await sink.close();
    expect(target.closed).toBe(true);
    expect(target.lines.map((l) => l.type)).toEqual(['audit-start', 'audit', 'audit-checkpoint']);
    expect(target.lines[2]).toMatchObject({ final: true, keyId: keyIdOf(publicKey) });
    sink.push(record(2));
    await turn();
    await sink.close();
    expect(target.lines).toHaveLength(3);
    const report = verifyAudit([{ file: 'f', text: target.text }], publicKey);
    expect(report).toMatchObject({ ok: true, signaturesChecked: true });
    expect(report.writers[0]).toMatchObject({ closed: true, checkpoints: 1 });
  });

  it('without a signing key writes no checkpoints, not even at close', async () => {
    const target = new FakeTarget();
    const sink = new ChainedSink(target, options({ checkpointEvery: 1 }));
    sink.push(record(1));
    await sink.close();
    expect(target.lines.map((l) => l.type)).toEqual(['audit-start', 'audit']);
  });
});

describe('signed checkpoints', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('every checkpointEvery lines and a final one at close, each signing its own hash with the Ed25519 key', async () => {
    const { signer, publicKey } = keys();
    const out: string[] = [];
    const sink = new ChainedSink((line) => void out.push(line), options({ signer, checkpointEvery: 3 }));
    for (let i = 1; i <= 7; i++) sink.push(record(i));
    await sink.close();
    const lines = linesOf(out.join(''));
    // audit-start counts as a line: start, 1, 2, ✓, 3, 4, 5, ✓, 6, 7, final ✓
    expect(lines.map((l) => (l.type === 'audit-checkpoint' ? (l.final ? 'final' : 'cp') : l.type === 'audit-start' ? 'start' : l.n))).toEqual([
      'start',
      1,
      2,
      'cp',
      3,
      4,
      5,
      'cp',
      6,
      7,
      'final',
    ]);
    for (const cp of lines.filter((l) => l.type === 'audit-checkpoint')) {
      const { hash, signature, ...body } = cp;
      expect(cp.keyId).toBe(keyIdOf(publicKey));
      expect(canonicalHash(body)).toBe(hash);
      expect(verifySignature(publicKey, hash as string, signature as string)).toBe(true);
      expect(verifySignature(publicKey, `${hash}x`, signature as string)).toBe(false);
    }
    const report = verifyAudit([{ file: 'audit.log', text: out.join('') }], publicKey);
    expect(report.problems).toEqual([]);
    expect(report.writers).toEqual([
      { writer: 'test@2026-01-01T00:00:00.000Z', lines: 11, firstSeq: 0, lastSeq: 10, checkpoints: 3, closed: true, fromStart: true },
    ]);
  });

  it('every checkpointMs while lines are written (none while idle)', async () => {
    vi.useFakeTimers();
    const { signer, publicKey } = keys();
    const out: string[] = [];
    const sink = new ChainedSink((line) => void out.push(line), options({ signer, checkpointEvery: 1000, checkpointMs: 5_000 }));
    sink.push(record(1));
    vi.advanceTimersByTime(4_999);
    expect(out).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(out).toHaveLength(3);
    expect(JSON.parse(out[2]!)).toMatchObject({ type: 'audit-checkpoint', final: false });
    vi.advanceTimersByTime(20_000); // idle: nothing new to prove
    expect(out).toHaveLength(3);
    sink.push(record(2));
    vi.advanceTimersByTime(5_000);
    expect(out.map((l) => JSON.parse(l).type)).toEqual(['audit-start', 'audit', 'audit-checkpoint', 'audit', 'audit-checkpoint']);
    await sink.close();
    vi.advanceTimersByTime(60_000); // the timer is gone after close
    expect(out).toHaveLength(6);
    expect(JSON.parse(out[5]!)).toMatchObject({ type: 'audit-checkpoint', final: true });
    expect(verifyAudit([{ file: 'f', text: out.join('') }], publicKey)).toMatchObject({ ok: true });
  });
});

describe('createAuditSink', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-audit-sink-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const settings = (over: Partial<AuditSettings> = {}): AuditSettings => ({
    file: '-',
    includeArgs: false,
    redact: [],
    checkpointEvery: 1000,
    checkpointMs: 60_000,
    ...over,
  });

  /** A request's record as the pipeline builds it: keys in code-unit order, the chain's fields as placeholders. */
  const request = (over: Partial<AuditRecord> = {}): AuditRecord => ({
    decision: 'allow',
    latencyMs: 1,
    method: 'tools/call',
    outcome: 'ok',
    prev: null,
    principal: 'anonymous',
    principalKind: 'anonymous',
    seq: 0,
    session: 's',
    time: 't',
    transport: 'http',
    type: 'audit',
    writer: '',
    ...over,
  });

  it('types requests "audit", passes events as they are, names the writer after the replica', async () => {
    const out: string[] = [];
    const sink = createAuditSink(settings(), { write: (l) => void out.push(l), replica: 'gw-1', version: '1.2.3' });
    sink.write(request());
    sink.writeEvent({ type: 'contract', time: 't', event: 'finding', server: 'ks' });
    await sink.close();
    const lines = linesOf(out.join(''));
    expect(lines.map((l) => l.type)).toEqual(['audit-start', 'audit', 'contract']);
    expect(lines[0]).toMatchObject({ version: '1.2.3' });
    expect(String(lines[0]!.writer)).toMatch(/^gw-1@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(verifyAudit([{ file: 'f', text: out.join('') }]).ok).toBe(true);
  });

  it('recordable() removes the redact paths; includeArgs is passed through', () => {
    const sink = createAuditSink(settings({ includeArgs: true, redact: ['password', 'auth.token'] }), { write: () => {}, replica: 'r', version: '0' });
    expect(sink.includeArgs).toBe(true);
    expect(sink.recordable({ user: 'u', password: 'p', auth: { token: 't', kind: 'k' } })).toEqual({
      user: 'u',
      password: '[redacted]',
      auth: { token: '[redacted]', kind: 'k' },
    });
    const none = createAuditSink(settings(), { write: () => {}, replica: 'r', version: '0' });
    const args = { password: 'p' };
    expect(none.recordable(args)).toBe(args);
  });

  it('signs with the signingKey file', async () => {
    const { privateKeyPem, publicKey } = keys();
    const file = path.join(dir, 'signing.pem');
    writeFileSync(file, privateKeyPem);
    const out: string[] = [];
    const sink = createAuditSink(settings({ signingKey: file }), { write: (l) => void out.push(l), replica: 'r', version: '0' });
    await sink.close();
    expect(verifyAudit([{ file: 'f', text: out.join('') }], publicKey).writers[0]).toMatchObject({ checkpoints: 1, closed: true });
  });

  it('refuses a missing or non-Ed25519 signingKey with a ConfigError at gateway.audit.signingKey', () => {
    const missing = path.join(dir, 'nope.pem');
    const rsa = path.join(dir, 'rsa.pem');
    writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    for (const [file, message] of [
      [missing, /ENOENT/],
      [rsa, /Ed25519.*rsa/],
    ] as const) {
      let error: unknown;
      try {
        createAuditSink(settings({ signingKey: file }), { write: () => {}, replica: 'r', version: '0' });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const issue = (error as ConfigError).issues[0]!;
      expect(issue).toMatchObject({ file, path: 'gateway.audit.signingKey' });
      expect(issue.message).toMatch(message);
    }
  });

  // A request record whose keys are out of order is still hashed as JCS (only slower).
  it('a request record with its top-level keys out of order still verifies', async () => {
    const out: string[] = [];
    const sink = createAuditSink(settings({ includeArgs: true }), { write: (l) => void out.push(l), replica: 'r', version: '0' });
    const { type, writer, time, ...rest } = request({ args: { a: 1 } });
    sink.write({ type, writer, time, ...rest });
    await sink.close();
    expect(verifyAudit([{ file: 'f', text: out.join('') }]).problems).toEqual([]);
  });

  it('a request record with nested keys out of order still verifies', async () => {
    const out: string[] = [];
    const sink = createAuditSink(settings({ includeArgs: true }), { write: (l) => void out.push(l), replica: 'r', version: '0' });
    sink.write(request({ args: { b: { d: 3, c: 2 }, a: 1 } }));
    await sink.close();
    expect(verifyAudit([{ file: 'f', text: out.join('') }]).problems).toEqual([]);
  });

  // A contract drift event names the contract's hash; an event's own "hash" would be mistaken for the
  // line's: events carry contractHash, and a stray reserved key is kept under "data".
  it('records a contract drift event (which has its own "hash" field) so that the file verifies and keeps that hash', async () => {
    const out: string[] = [];
    const sink = createAuditSink(settings(), { write: (l) => void out.push(l), replica: 'r', version: '0' });
    const contractHash = `sha256:${'a'.repeat(64)}`;
    sink.writeEvent({
      type: 'contract',
      time: 't',
      event: 'drift',
      drift: 'changed',
      server: 'ks',
      kind: 'tool',
      name: 'echo',
      drifted: ['description'],
      widening: [],
      hash: contractHash,
      approvedHash: `sha256:${'b'.repeat(64)}`,
      action: 'served',
    });
    await sink.close();
    const report = verifyAudit([{ file: 'f', text: out.join('') }]);
    expect(report.problems).toEqual([]);
    const line = JSON.parse(out[1]!) as { hash: string; data: { hash: string } };
    expect(line.hash).not.toBe(contractHash);
    expect(line.data.hash).toBe(contractHash);
  });
});
