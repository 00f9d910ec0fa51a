/**
 * The audit trail of a real gateway, written to a real file (no `auditWrite`
 * override: the file target, its rotation and its signing as deployed): a real
 * kitchen-sink upstream, v1 SDK clients making allowed and denied calls, and
 * after stop() a file that verifies with the public key and ends in a final
 * checkpoint. Records carry groups, scopes, argsDigest, redacted args,
 * policyVersion, decision and rule; tampering with the real file is caught at
 * the record touched; /readyz and /metrics report a sink that cannot write.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { createGateway, type Gateway } from '../../src/app/gateway.js';
import { hashKey } from '../../src/auth/api-keys.js';
import { parseConfig } from '../../src/config/load.js';
import { canonicalHash } from '../../src/infra/canonical.js';
import { createLogger } from '../../src/observability/log.js';
import { verifyAudit, type VerifyReport } from '../../src/observability/audit/verify.js';
import { connectLegacyWithHeaders } from '../helpers/clients.js';
import { FIXTURES, nodeServer, ROOT } from '../helpers/gateway.js';

const POLICY = `
rules:
  - id: no-fail
    description: The fail tool is off limits.
    match: { servers: [ks], tools: [fail] }
    effect: deny
  - id: add-needs-math
    match: { servers: [ks], tools: [add] }
    effect: require
    scopes: [math]
  - id: echo-for-all
    match: { servers: [ks], tools: [echo] }
    effect: allow
`;

const KEYS = { alice: 'alice-secret-key-0001', bob: 'bob-secret-key-00002' };

let dir: string;
let policies: string;
let signingKey: string;
let publicKey: KeyObject;

interface Running {
  gateway: Gateway;
  url: string;
  mcpUrl: string;
  logs: string[];
}

/** A gateway built as startGateway builds one, but WITHOUT auditWrite: the configured file target is used. */
async function startAudited(audit: Record<string, unknown>): Promise<Running> {
  const logs: string[] = [];
  const loaded = parseConfig(
    {
      mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
      gateway: {
        policies,
        replicaId: 'audit-it',
        auth: {
          apiKeys: [
            { id: 'alice', sha256: hashKey(KEYS.alice), scopes: ['math', 'echo'], groups: ['staff', 'admins'] },
            { id: 'bob', sha256: hashKey(KEYS.bob), scopes: [], groups: ['guests'] },
          ],
        },
        audit,
      },
    },
    path.join(ROOT, 'test/inline.json'),
    process.env,
  );
  const gateway = createGateway(loaded, createLogger({ level: 'warn', write: (line) => void logs.push(line) }));
  gateway.start();
  await gateway.settled(20_000);
  const { url } = await gateway.listen('127.0.0.1', 0);
  return { gateway, url, mcpUrl: `${url}${loaded.gateway.path}`, logs };
}

const connect = (gw: Running, key: string) => connectLegacyWithHeaders(gw.mcpUrl, { Authorization: `Bearer ${key}` });
/** 'ok', or the error's message (a refusal is an error, not a result). */
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => `error: ${(e as Error).message}`,
  );
const readyz = async (gw: Running) => (await (await fetch(`${gw.url}/readyz`)).json()) as { audit: Record<string, unknown> };
async function metric(gw: Running, name: string): Promise<number | undefined> {
  const body = await (await fetch(`${gw.url}/metrics`)).text();
  const m = body.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}
const linesOf = (text: string) => text.split('\n').filter((l) => l !== '');
const parse = (line: string) => JSON.parse(line) as Record<string, unknown>;
const textOf = (lines: readonly string[]) => `${lines.join('\n')}\n`;
const verifyLines = (lines: readonly string[], file = 'audit.log'): VerifyReport => verifyAudit([{ file, text: textOf(lines) }], publicKey);
const calls = (lines: readonly string[]) => lines.map(parse).filter((r) => r.type === 'audit' && r.method === 'tools/call');

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-audit-it-'));
  policies = path.join(dir, 'policies');
  mkdirSync(policies);
  writeFileSync(path.join(policies, 'ks.yaml'), POLICY);
  const pair = generateKeyPairSync('ed25519');
  publicKey = pair.publicKey;
  signingKey = path.join(dir, 'audit-signing.pem');
  writeFileSync(signingKey, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a signed audit file from real traffic', () => {
  const file = () => path.join(dir, 'main', 'audit.log');
  let gw: Running;
  let lines: string[];
  let policyVersion: string;
  const echoArgs = {
    text: 'hi',
    secret: 's3cr3t',
    nested: { token: 'tok', keep: 1 },
    items: [
      { password: 'p1', id: 1 },
      { password: 'p2', id: 2 },
    ],
  };

  beforeAll(async () => {
    mkdirSync(path.join(dir, 'main'));
    gw = await startAudited({
      file: file(),
      includeArgs: true,
      redact: ['secret', 'nested.token', 'items.*.password'],
      signingKey,
      checkpointEvery: 4,
    });
    policyVersion = gw.gateway.policy.version;
    let alice: LegacyClient | undefined;
    let bob: LegacyClient | undefined;
    try {
      alice = await connect(gw, KEYS.alice);
      bob = await connect(gw, KEYS.bob);
      expect(await outcome(alice.callTool({ name: 'ks__add', arguments: { a: 2, b: 3 } }))).toBe('ok');
      expect(await outcome(alice.callTool({ name: 'ks__echo', arguments: echoArgs }))).toBe('ok');
      expect(await outcome(bob.callTool({ name: 'ks__fail', arguments: {} }))).toMatch(/^error/);
      expect(await outcome(bob.callTool({ name: 'ks__add', arguments: { a: 1, b: 1 } }))).toMatch(/^error/);
      expect(await outcome(bob.callTool({ name: 'ks__echo', arguments: { text: 'bob' } }))).toBe('ok');
      for (let i = 0; i < 4; i++) expect(await outcome(alice.callTool({ name: 'ks__echo', arguments: { text: `n${i}` } }))).toBe('ok');
      // The sink keeps up while the gateway runs.
      const body = await readyz(gw);
      expect(body.audit).toMatchObject({ state: 'ok', dropped: 0 });
      expect(typeof body.audit.queuedBytes).toBe('number');
      expect(await metric(gw, 'switchboard_audit_sink_up')).toBe(1);
      expect(await metric(gw, 'switchboard_audit_records_dropped_total')).toBe(0);
      expect(await metric(gw, 'switchboard_audit_queue_bytes')).toBeGreaterThanOrEqual(0);
    } finally {
      await Promise.allSettled([alice?.close(), bob?.close()]);
      await gw.gateway.stop();
    }
    lines = linesOf(readFileSync(file(), 'utf8'));
  });

  it('verifies intact with the public key and ends in a final checkpoint', () => {
    const report = verifyLines(lines);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.writers).toHaveLength(1);
    expect(report.writers[0]).toMatchObject({ lines: lines.length, firstSeq: 0, lastSeq: lines.length - 1, closed: true, fromStart: true });
    expect(report.writers[0]!.checkpoints).toBeGreaterThanOrEqual(3);
    expect(parse(lines[0]!)).toMatchObject({ type: 'audit-start', seq: 0, prev: null });
    expect(String(parse(lines[0]!).writer)).toMatch(/^audit-it@/);
    expect(parse(lines.at(-1)!)).toMatchObject({ type: 'audit-checkpoint', final: true });
    expect(statSync(file()).mode & 0o777).toBe(0o600);
  });

  it('records who, the decision, the rule, the policy version and the argument digest', () => {
    const records = calls(lines);
    expect(records.map((r) => [r.principal, r.name, r.decision, r.outcome])).toEqual([
      ['apikey:alice', 'ks__add', 'allow', 'ok'],
      ['apikey:alice', 'ks__echo', 'allow', 'ok'],
      ['apikey:bob', 'ks__fail', 'deny', 'denied'],
      ['apikey:bob', 'ks__add', 'deny', 'denied'],
      ['apikey:bob', 'ks__echo', 'allow', 'ok'],
      ...[0, 1, 2, 3].map(() => ['apikey:alice', 'ks__echo', 'allow', 'ok']),
    ]);
    const [add, echo, fail, bobAdd, bobEcho] = records as [Record<string, unknown>, ...Record<string, unknown>[]];
    expect(policyVersion).toMatch(/^sha256:[0-9a-f]{64}$/);
    for (const r of records) {
      expect(r.policyVersion).toBe(policyVersion);
      expect(r.principalKind).toBe('apikey');
      expect(r.server).toBe('ks');
    }
    expect(add).toMatchObject({ groups: ['staff', 'admins'], scopes: ['math', 'echo'], original: 'add', argsDigest: canonicalHash({ a: 2, b: 3 }) });
    expect(echo!.ruleId).toBe('echo-for-all');
    expect(fail).toMatchObject({ groups: ['guests'], scopes: [], ruleId: 'no-fail', code: 'POLICY_DENIED', argsDigest: canonicalHash({}) });
    expect(bobAdd).toMatchObject({ ruleId: 'add-needs-math', code: 'INSUFFICIENT_SCOPE', argsDigest: canonicalHash({ a: 1, b: 1 }) });
    expect(bobEcho).toMatchObject({ ruleId: 'echo-for-all', args: { text: 'bob' } });
  });

  it('records the arguments (includeArgs) with the redact paths replaced; the digest is over the arguments as forwarded', () => {
    const echo = calls(lines)[1]!;
    expect(echo.args).toEqual({
      text: 'hi',
      secret: '[redacted]',
      nested: { token: '[redacted]', keep: 1 },
      items: [
        { password: '[redacted]', id: 1 },
        { password: '[redacted]', id: 2 },
      ],
    });
    expect(echo.argsDigest).toBe(canonicalHash(echoArgs));
    expect(lines.join('\n')).not.toMatch(/s3cr3t|"tok"|"p1"|"p2"|alice-secret|bob-secret/);
  });

  /** The 0-based index of the line holding the n-th tools/call record. */
  const indexOfCall = (n: number) => {
    const target = calls(lines)[n]!;
    return lines.findIndex((l) => parse(l).seq === target.seq);
  };

  it('catches an edit at the record edited', () => {
    const i = indexOfCall(2); // bob's denied fail
    const edited = [...lines];
    edited[i] = edited[i]!.replace('"decision":"deny"', '"decision":"allow"');
    expect(edited[i]).not.toBe(lines[i]);
    const report = verifyLines(edited);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'edited', file: 'audit.log', line: i + 1, seq: parse(lines[i]!).seq })]);
  });

  it('catches a deleted record at the line after it', () => {
    const i = indexOfCall(1);
    const removed = lines.filter((_, j) => j !== i);
    expect(verifyLines(removed).problems).toEqual([
      expect.objectContaining({
        kind: 'removed',
        line: i + 1,
        seq: parse(lines[i + 1]!).seq,
        message: expect.stringContaining(`seq ${parse(lines[i]!).seq} missing`),
      }),
    ]);
  });

  it('catches two records swapped', () => {
    const i = indexOfCall(2);
    const swapped = [...lines];
    [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
    expect(verifyLines(swapped).problems).toEqual([expect.objectContaining({ kind: 'reordered', line: i + 1, seq: parse(lines[i + 1]!).seq })]);
  });

  it('catches a file cut before its final checkpoint', () => {
    const cut = lines.slice(0, -2);
    expect(verifyLines(cut).problems).toEqual([expect.objectContaining({ kind: 'truncated', line: cut.length, seq: parse(cut.at(-1)!).seq })]);
  });

  it('catches a rewritten, re-hashed chain at its first checkpoint after the change, when given the key', () => {
    const from = indexOfCall(2);
    const forged = [...lines];
    for (let i = from; i < forged.length; i++) {
      const { hash: _h, signature, ...body } = parse(forged[i]!);
      if (i === from) body.decision = 'allow';
      body.prev = parse(forged[i - 1]!).hash;
      forged[i] = JSON.stringify({ ...body, hash: canonicalHash(body), ...(signature !== undefined ? { signature } : {}) });
    }
    expect(verifyAudit([{ file: 'audit.log', text: textOf(forged) }]).ok).toBe(true);
    const checkpoint = forged.findIndex((l, i) => i >= from && parse(l).type === 'audit-checkpoint');
    expect(verifyLines(forged).problems).toEqual([expect.objectContaining({ kind: 'bad-signature', line: checkpoint + 1 })]);
  });
});

describe('rotation', () => {
  it('a small maxBytes produces several files that verify together, oldest first; without includeArgs only the digest', async () => {
    const sub = path.join(dir, 'rotating');
    mkdirSync(sub);
    const gw = await startAudited({ file: path.join(sub, 'audit.log'), rotate: { maxBytes: 1500, keep: 100 }, signingKey, checkpointEvery: 3 });
    let client: LegacyClient | undefined;
    try {
      client = await connect(gw, KEYS.alice);
      for (let i = 0; i < 12; i++) expect(await outcome(client.callTool({ name: 'ks__echo', arguments: { text: `rotate-${i}`, secret: 'never' } }))).toBe('ok');
    } finally {
      await client?.close();
      await gw.gateway.stop();
    }
    const names = readdirSync(sub);
    const rotated = names.filter((n) => /^audit\.log\.\d{8}T\d{6}\.\d{3}Z(-\d+)?$/.test(n)).sort();
    expect(names.sort()).toEqual([...rotated, 'audit.log'].sort());
    expect(rotated.length).toBeGreaterThanOrEqual(3);
    const files = [...rotated, 'audit.log'].map((n) => ({ file: n, text: readFileSync(path.join(sub, n), 'utf8') }));
    const report = verifyAudit(files, publicKey);
    expect(report.problems).toEqual([]);
    expect(report.writers).toHaveLength(1);
    expect(report.writers[0]).toMatchObject({ fromStart: true, closed: true, firstSeq: 0 });
    const all = files.flatMap((f) => linesOf(f.text));
    const records = calls(all);
    expect(records).toHaveLength(12);
    for (const [i, r] of records.entries()) {
      expect(r).not.toHaveProperty('args');
      expect(r.argsDigest).toBe(canonicalHash({ text: `rotate-${i}`, secret: 'never' }));
    }
    expect(all.join('\n')).not.toContain('never');
    // Each rotated file is a stretch of the chain: no file alone (but the first) begins at seq 0.
    expect(verifyAudit(files.slice(1), publicKey)).toMatchObject({ ok: true, writers: [{ fromStart: false }] });
  });
});

describe('a sink that cannot write', () => {
  it("/readyz says audit 'failed', switchboard_audit_sink_up 0, and the dropped records are counted", async () => {
    const gw = await startAudited({ file: '/dev/full' });
    let client: LegacyClient | undefined;
    try {
      client = await connect(gw, KEYS.alice);
      for (let i = 0; i < 3; i++) expect(await outcome(client.callTool({ name: 'ks__echo', arguments: { text: `full-${i}` } }))).toBe('ok');
      await vi.waitFor(
        async () => {
          const { audit } = await readyz(gw);
          expect(audit).toMatchObject({ state: 'failed', error: 'ENOSPC' });
          expect(audit.dropped).toBeGreaterThan(0);
        },
        { timeout: 5_000, interval: 50 },
      );
      expect(await metric(gw, 'switchboard_audit_sink_up')).toBe(0);
      expect(await metric(gw, 'switchboard_audit_records_dropped_total')).toBeGreaterThan(0);
    } finally {
      await client?.close();
      await gw.gateway.stop();
    }
  });
});

// Arguments with integer-like keys ("10", "9") cannot be ordered in a JS object: they are hashed as JCS all the same.
describe('arguments with array-index keys', () => {
  it('leave a file that verifies intact', async () => {
    const sub = path.join(dir, 'index-keys');
    mkdirSync(sub);
    const file = path.join(sub, 'audit.log');
    const gw = await startAudited({ file, includeArgs: true });
    let client: LegacyClient | undefined;
    try {
      client = await connect(gw, KEYS.alice);
      expect(await outcome(client.callTool({ name: 'ks__echo', arguments: { text: 'x', '10': 'ten', '9': 'nine' } }))).toBe('ok');
    } finally {
      await client?.close();
      await gw.gateway.stop();
    }
    const report = verifyAudit([{ file: 'audit.log', text: readFileSync(file, 'utf8') }]);
    expect(report.problems).toEqual([]);
  });
});
