/**
 * The audit hash chain of one writer: seq from 0, each line naming the
 * previous line's hash, its own hash the JCS hash of the line without "hash"
 * (and without the `unhashed` fields a checkpoint's signature is).
 */
import { describe, expect, it } from 'vitest';
import { canonicalHash } from '../../../../src/infra/canonical.js';
import { AuditChain, writerId } from '../../../../src/observability/audit/chain.js';
import { verifyAudit } from '../../../../src/observability/audit/verify.js';

const parse = (line: string) => JSON.parse(line) as Record<string, unknown>;

/** The line as the verifier hashes it: without "hash" and the named unhashed fields. */
function bodyOf(line: string, unhashed: string[] = []): Record<string, unknown> {
  const { hash: _hash, ...body } = parse(line);
  for (const k of unhashed) delete body[k];
  return body;
}

describe('AuditChain', () => {
  it('numbers lines from 0 and links each to the previous hash', () => {
    const chain = new AuditChain('r1@2026-01-01T00:00:00.000Z');
    expect(chain.head).toEqual({ seq: -1, hash: null });
    const sealed = [0, 1, 2, 3].map((i) => chain.seal({ type: 'audit', time: 't', n: i }));
    expect(sealed.map((s) => s.seq)).toEqual([0, 1, 2, 3]);
    const lines = sealed.map((s) => parse(s.line));
    expect(lines[0]).toMatchObject({ type: 'audit', n: 0, writer: 'r1@2026-01-01T00:00:00.000Z', seq: 0, prev: null, hash: sealed[0]!.hash });
    for (let i = 1; i < 4; i++) {
      expect(lines[i]!.seq).toBe(i);
      expect(lines[i]!.prev).toBe(sealed[i - 1]!.hash);
      expect(lines[i]!.hash).toBe(sealed[i]!.hash);
    }
    expect(chain.head).toEqual({ seq: 3, hash: sealed[3]!.hash });
  });

  it('writes one JSON line ending in a newline, hash = canonicalHash of the line without "hash"', () => {
    const chain = new AuditChain('w');
    for (const record of [
      { type: 'audit-start', time: '2026-01-01T00:00:00.000Z', version: '0.1.0' },
      { type: 'audit', principal: 'apikey:alice', args: { z: [1, { b: 2, a: 'é\u{1f600}\n' }], a: null }, latencyMs: 1.25 },
      { type: 'contract', event: 'drift', detail: { '\uffff': 1, '\u{1f600}': 2 } },
    ]) {
      const { line, hash } = chain.seal(record);
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
      expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(canonicalHash(bodyOf(line))).toBe(hash);
    }
  });

  it('takes writer, seq and prev from the chain, never from the record', () => {
    const chain = new AuditChain('real');
    chain.seal({ type: 'audit' });
    const line = parse(chain.seal({ type: 'audit', writer: 'forged', seq: 99, prev: 'sha256:forged' }).line);
    expect(line).toMatchObject({ writer: 'real', seq: 1 });
    expect(line.prev).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('leaves the `unhashed` fields out of the hash, computed from that hash', () => {
    const chain = new AuditChain('w');
    chain.seal({ type: 'audit-start' });
    let seen = '';
    const sealed = chain.seal({ type: 'audit-checkpoint', final: false, keyId: 'k' }, (hash) => {
      seen = hash;
      return { signature: `sig(${hash})` };
    });
    const line = parse(sealed.line);
    expect(seen).toBe(sealed.hash);
    expect(line.signature).toBe(`sig(${sealed.hash})`);
    expect(canonicalHash(bodyOf(sealed.line, ['signature']))).toBe(sealed.hash);
    // With the signature the hash would differ: it really is left out.
    expect(canonicalHash(bodyOf(sealed.line))).not.toBe(sealed.hash);
    // The next line links to the hash, not to anything that includes the signature.
    expect(parse(chain.seal({ type: 'audit' }).line).prev).toBe(sealed.hash);
  });

  it('produces lines verifyAudit accepts', () => {
    const chain = new AuditChain('w');
    const text = [0, 1, 2].map((i) => chain.seal({ type: 'audit', i, nested: { b: [i], a: 'x' } }).line).join('');
    expect(verifyAudit([{ file: 'f', text }])).toMatchObject({ ok: true, lines: 3, problems: [] });
  });

  it('sealInPlace fills in the chain fields of a record built in canonical order, with one hash', () => {
    const chain = new AuditChain('w');
    const start = chain.seal({ type: 'audit-start' });
    const record = { decision: 'allow', prev: null as string | null, seq: 0, time: 't', type: 'audit', writer: '' };
    const sealed = chain.sealInPlace(record);
    expect(sealed.seq).toBe(1);
    expect(record).toMatchObject({ prev: start.hash, seq: 1, writer: 'w' });
    const line = parse(sealed.line);
    expect(line).toMatchObject({ decision: 'allow', prev: start.hash, seq: 1, writer: 'w', hash: sealed.hash });
    expect(canonicalHash(bodyOf(sealed.line))).toBe(sealed.hash);
    expect(verifyAudit([{ file: 'f', text: start.line + sealed.line }]).ok).toBe(true);
  });

  // A JS object cannot hold "10" before "9" (JCS order): such records take the library's canonical path.
  it('hashes records with array-index keys ("10", "9") as the verifier does', () => {
    const chain = new AuditChain('w');
    chain.seal({ type: 'audit-start' });
    const { line, hash } = chain.seal({ type: 'audit', args: { '10': 'ten', '9': 'nine' } });
    expect(canonicalHash(bodyOf(line))).toBe(hash);
  });
});

describe('writerId', () => {
  it('is "<replica>@<ISO time>"', () => {
    expect(writerId('replica-1', new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)))).toBe('replica-1@2026-01-02T03:04:05.006Z');
  });
});
