/**
 * verifyAudit: each writer's chain followed by seq and prev with an
 * independent JCS hash; the first break of each writer reported at its
 * file:line and seq as edited, removed, reordered, malformed, bad-signature or
 * truncated.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalHash } from '../../../../src/infra/canonical.js';
import { AuditChain } from '../../../../src/observability/audit/chain.js';
import { ChainedSink } from '../../../../src/observability/audit/sink.js';
import { keyIdOf, signerFromPem, type Signer } from '../../../../src/observability/audit/signing.js';
import { verifyAudit, type VerifyProblem } from '../../../../src/observability/audit/verify.js';

const W = 'gw-1@2026-01-01T00:00:00.000Z';
const FILE = 'audit.log';

function keypair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { publicKey, signer: signerFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' })) };
}

/** The lines (without their newlines) of a writer that wrote `records` requests and closed. */
function log(records: number, opts: { writer?: string; signer?: Signer; checkpointEvery?: number } = {}): string[] {
  const out: string[] = [];
  const sink = new ChainedSink((line) => void out.push(line.slice(0, -1)), {
    chain: new AuditChain(opts.writer ?? W),
    version: '0.1.0',
    checkpointEvery: opts.checkpointEvery ?? 1000,
    checkpointMs: 3_600_000,
    ...(opts.signer ? { signer: opts.signer } : {}),
  });
  for (let i = 1; i <= records; i++) sink.push({ type: 'audit', time: '2026-01-01T00:00:00.000Z', principal: `apikey:u${i}`, decision: 'allow', n: i });
  void sink.close();
  return out;
}

const text = (lines: readonly string[]) => `${lines.join('\n')}\n`;
const one = (lines: readonly string[], publicKey?: Parameters<typeof verifyAudit>[1]) => verifyAudit([{ file: FILE, text: text(lines) }], publicKey);
const parse = (line: string) => JSON.parse(line) as Record<string, unknown>;
const seqOf = (line: string) => parse(line).seq as number;
const checkpointIndexes = (lines: readonly string[]) => lines.flatMap((l, i) => (parse(l).type === 'audit-checkpoint' ? [i] : []));

/** A line re-sealed as a forger would: its own hash recomputed (a checkpoint's signature kept, as it cannot be redone). */
function reseal(line: string, prev: string | null, change: (v: Record<string, unknown>) => void = () => {}): string {
  const { hash: _hash, signature, ...body } = parse(line);
  change(body);
  body.prev = prev;
  const hash = canonicalHash(body);
  return JSON.stringify({ ...body, hash, ...(signature !== undefined ? { signature } : {}) });
}

/** The chain rewritten end to end from `from`, with `change` applied there: every hash and prev recomputed. */
function rewrite(lines: readonly string[], from: number, change: (v: Record<string, unknown>) => void): string[] {
  const out = [...lines];
  for (let i = from; i < out.length; i++) {
    const prev = i === 0 ? null : (parse(out[i - 1]!).hash as string);
    out[i] = reseal(out[i]!, prev, i === from ? change : undefined);
  }
  return out;
}

function only(problems: VerifyProblem[]): VerifyProblem {
  expect(problems).toHaveLength(1);
  return problems[0]!;
}

describe('an intact log', () => {
  it('verifies, with a summary per writer', () => {
    const lines = log(8);
    const report = one(lines);
    expect(report).toEqual({
      ok: true,
      lines: 9,
      writers: [{ writer: W, lines: 9, firstSeq: 0, lastSeq: 8, checkpoints: 0, closed: false, fromStart: true }],
      problems: [],
      signaturesChecked: false,
    });
    // With or without the last newline.
    expect(verifyAudit([{ file: FILE, text: lines.join('\n') }]).ok).toBe(true);
    expect(verifyAudit([{ file: FILE, text: '' }])).toMatchObject({ ok: true, lines: 0, writers: [] });
  });

  it('verifies a signed log with the public key, ending in a final checkpoint', () => {
    const { signer, publicKey } = keypair();
    const lines = log(8, { signer, checkpointEvery: 3 });
    const report = one(lines, publicKey);
    expect(report.problems).toEqual([]);
    expect(report.signaturesChecked).toBe(true);
    expect(report.writers[0]).toMatchObject({ closed: true, checkpoints: 4, fromStart: true });
    expect(parse(lines.at(-1)!)).toMatchObject({ type: 'audit-checkpoint', final: true, keyId: keyIdOf(publicKey) });
  });
});

describe('tampering', () => {
  it('edited: a value changed, at that line', () => {
    const lines = log(8);
    lines[4] = lines[4]!.replace('"decision":"allow"', '"decision":"deny"');
    expect(only(one(lines).problems)).toMatchObject({ kind: 'edited', file: FILE, line: 5, writer: W, seq: 4 });
  });

  it('edited with its hash recomputed: the next line no longer names it', () => {
    const lines = log(8);
    lines[4] = reseal(lines[4]!, parse(lines[3]!).hash as string, (v) => {
      v.decision = 'deny';
    });
    const p = only(one(lines).problems);
    expect(p).toMatchObject({ kind: 'edited', file: FILE, line: 6, writer: W, seq: 5 });
    expect(p.message).toMatch(/previous line/);
  });

  it('removed: a middle line, reported at the line after the gap', () => {
    const lines = log(8);
    lines.splice(4, 1);
    const p = only(one(lines).problems);
    expect(p).toMatchObject({ kind: 'removed', file: FILE, line: 5, seq: 5 });
    expect(p.message).toContain('seq 4 missing');
    const more = log(8);
    more.splice(3, 3);
    expect(only(one(more).problems)).toMatchObject({ kind: 'removed', line: 4, seq: 6, message: expect.stringContaining('seq 3–5 missing') });
  });

  it('reordered: two lines swapped', () => {
    const lines = log(8);
    [lines[3], lines[4]] = [lines[4]!, lines[3]!];
    expect(only(one(lines).problems)).toMatchObject({ kind: 'reordered', file: FILE, line: 4, seq: 4 });
  });

  it('duplicated: a line repeated', () => {
    const lines = log(8);
    lines.splice(5, 0, lines[4]!);
    const p = only(one(lines).problems);
    expect(p).toMatchObject({ kind: 'reordered', file: FILE, line: 6, seq: 4 });
    expect(p.message).toMatch(/repeated/);
  });

  it('truncated: a signed log cut before its final checkpoint (with or without the key)', () => {
    const { signer, publicKey } = keypair();
    const lines = log(8, { signer, checkpointEvery: 3 });
    const cut = lines.slice(0, -1);
    for (const key of [publicKey, undefined]) {
      const p = only(one(cut, key).problems);
      expect(p).toMatchObject({ kind: 'truncated', file: FILE, line: cut.length, writer: W, seq: seqOf(cut.at(-1)!) });
    }
    // Cut right after a checkpoint that is not final.
    const atCheckpoint = lines.slice(0, checkpointIndexes(lines)[1]! + 1);
    expect(only(one(atCheckpoint, publicKey).problems)).toMatchObject({ kind: 'truncated', line: atCheckpoint.length });
    expect(one(atCheckpoint, publicKey).writers[0]).toMatchObject({ checkpoints: 2, closed: false });
  });

  // Given the public key, the log is expected signed: a writer cut before its only (final) checkpoint is truncated.
  it('truncated: a signed log cut before its only checkpoint is caught when the public key is given', () => {
    const { signer, publicKey } = keypair();
    const lines = log(4, { signer, checkpointEvery: 1000 });
    expect(checkpointIndexes(lines)).toEqual([lines.length - 1]);
    const cut = lines.slice(0, -1);
    const report = one(cut, publicKey);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatchObject({ kind: 'truncated', line: cut.length, seq: seqOf(cut.at(-1)!) });
  });

  it('an unsigned log cut at its end cannot be told from a complete one (only checkpoints can)', () => {
    expect(one(log(8).slice(0, -2)).ok).toBe(true);
  });

  it('bad signature: a chain rewritten and re-hashed end to end, checkpoints re-sealed but not re-signable', () => {
    const { signer, publicKey } = keypair();
    const lines = log(8, { signer, checkpointEvery: 3 });
    const forged = rewrite(lines, 2, (v) => {
      v.decision = 'deny';
    });
    // Without the key the forgery is a consistent chain.
    expect(one(forged).ok).toBe(true);
    const firstCheckpoint = checkpointIndexes(forged).find((i) => i >= 2)!;
    const p = only(one(forged, publicKey).problems);
    expect(p).toMatchObject({ kind: 'bad-signature', file: FILE, line: firstCheckpoint + 1, seq: seqOf(forged[firstCheckpoint]!) });
    expect(p.message).toMatch(/signature does not verify/);
    // A checkpoint with a signature that is not base64 of anything.
    const garbage = [...lines];
    const i = checkpointIndexes(lines)[0]!;
    garbage[i] = JSON.stringify({ ...parse(lines[i]!), signature: '!!not base64!!' });
    expect(only(one(garbage, publicKey).problems)).toMatchObject({ kind: 'bad-signature', line: i + 1 });
  });

  it('bad signature: checked with the wrong public key, at the first checkpoint', () => {
    const { signer } = keypair();
    const other = keypair();
    const lines = log(8, { signer, checkpointEvery: 3 });
    const first = checkpointIndexes(lines)[0]!;
    const p = only(one(lines, other.publicKey).problems);
    expect(p).toMatchObject({ kind: 'bad-signature', line: first + 1, seq: seqOf(lines[first]!) });
    expect(p.message).toContain('not the key given');
  });

  it('bad signature: a checkpoint naming the right key with another key’s signature', () => {
    const { signer, publicKey } = keypair();
    const other = keypair();
    const lines = log(5, { signer, checkpointEvery: 3 });
    const i = checkpointIndexes(lines)[0]!;
    const cp = parse(lines[i]!);
    lines[i] = JSON.stringify({ ...cp, signature: other.signer.sign(cp.hash as string) });
    expect(only(one(lines, publicKey).problems)).toMatchObject({ kind: 'bad-signature', line: i + 1 });
  });

  it('malformed: a line that is not a chained JSON object, at that line', () => {
    const lines = log(8);
    lines[4] = lines[4]!.slice(0, 30);
    const { problems } = one(lines);
    expect(problems[0]).toMatchObject({ kind: 'malformed', file: FILE, line: 5 });
    expect(problems[0]!.seq).toBeUndefined();
    // The chain then misses that line's seq at the next one.
    expect(problems.slice(1)).toEqual([expect.objectContaining({ kind: 'removed', line: 6, seq: 5 })]);
    for (const bad of [
      '',
      '[]',
      'null',
      '42',
      '"x"',
      '{"type":"audit"}',
      '{"writer":"w","seq":"1","prev":null,"hash":"h"}',
      '{"writer":"w","seq":1,"prev":3,"hash":"h"}',
    ]) {
      const appended = [...log(2), bad];
      expect(only(one(appended).problems), bad).toMatchObject({ kind: 'malformed', line: 4 });
    }
  });
});

describe('several writers and files', () => {
  it('follows two writers interleaved in one file separately', () => {
    const a = log(5, { writer: 'a@2026-01-01T00:00:00.000Z' });
    const b = log(3, { writer: 'b@2026-01-01T00:00:01.000Z' });
    const mixed: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i]) mixed.push(a[i]!);
      if (b[i]) mixed.push(b[i]!);
    }
    const report = one(mixed);
    expect(report.problems).toEqual([]);
    expect(report.writers.map((w) => [w.writer, w.lines, w.lastSeq])).toEqual([
      ['a@2026-01-01T00:00:00.000Z', 6, 5],
      ['b@2026-01-01T00:00:01.000Z', 4, 3],
    ]);
    // A break in b's chain is b's alone.
    const bLine = mixed.findIndex((l) => parse(l).writer === 'b@2026-01-01T00:00:01.000Z' && parse(l).seq === 2);
    mixed[bLine] = mixed[bLine]!.replace('"decision":"allow"', '"decision":"deny"');
    const broken = one(mixed);
    expect(only(broken.problems)).toMatchObject({ kind: 'edited', line: bLine + 1, writer: 'b@2026-01-01T00:00:01.000Z', seq: 2 });
    expect(broken.writers.find((w) => w.writer.startsWith('a@'))).toMatchObject({ lines: 6, lastSeq: 5 });
  });

  it('follows one chain across files given oldest first, naming the file of each problem', () => {
    const lines = log(8);
    const files = [
      { file: 'audit.log.20260101T000000.000Z', text: text(lines.slice(0, 4)) },
      { file: 'audit.log', text: text(lines.slice(4)) },
    ];
    expect(verifyAudit(files)).toMatchObject({ ok: true, lines: 9, writers: [{ fromStart: true, firstSeq: 0, lastSeq: 8 }] });
    const edited = [files[0]!, { file: 'audit.log', text: text(lines.slice(4).map((l, i) => (i === 2 ? l.replace('"n":6', '"n":60') : l))) }];
    expect(only(verifyAudit(edited).problems)).toMatchObject({ kind: 'edited', file: 'audit.log', line: 3, seq: 6 });
    // Given newest first, the older file's lines come after.
    expect(only(verifyAudit([files[1]!, files[0]!]).problems)).toMatchObject({ kind: 'reordered', file: 'audit.log.20260101T000000.000Z', line: 1, seq: 0 });
  });

  it('accepts a file set that begins mid-chain (earlier files rotated away), saying so', () => {
    const lines = log(8);
    const report = verifyAudit([{ file: 'audit.log', text: text(lines.slice(5)) }]);
    expect(report.ok).toBe(true);
    expect(report.writers).toEqual([{ writer: W, lines: 4, firstSeq: 5, lastSeq: 8, checkpoints: 0, closed: false, fromStart: false }]);
    // Still followed from there: a break after the start is found.
    const rest = lines.slice(5);
    [rest[1], rest[2]] = [rest[2]!, rest[1]!];
    expect(only(verifyAudit([{ file: 'audit.log', text: text(rest) }]).problems)).toMatchObject({ kind: 'reordered', line: 2, seq: 7 });
  });
});
