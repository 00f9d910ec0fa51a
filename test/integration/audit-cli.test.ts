/**
 * `switchboard audit verify FILE… [--public-key PEM] [--json]` as a user runs
 * it (node bin/switchboard.js, the build in dist/): exit 0 intact, 1 broken,
 * 2 usage; --json is the report; a wrong public key fails at the first
 * checkpoint.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditChain } from '../../src/observability/audit/chain.js';
import { ChainedSink } from '../../src/observability/audit/sink.js';
import { signerFromPem } from '../../src/observability/audit/signing.js';
import type { VerifyReport } from '../../src/observability/audit/verify.js';
import { runCli } from '../helpers/processes.js';

const WRITER = 'cli@2026-01-01T00:00:00.000Z';
let dir: string;
let lines: string[];
const at = (name: string) => path.join(dir, name);
const write = (name: string, content: string) => (writeFileSync(at(name), content), at(name));
const audit = (args: string[]) => runCli(['audit', ...args], { cwd: dir });

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-audit-cli-'));
  const pair = generateKeyPairSync('ed25519');
  write('public.pem', pair.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  write('wrong.pem', generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string);
  write('rsa.pem', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const out: string[] = [];
  const sink = new ChainedSink((line) => void out.push(line), {
    chain: new AuditChain(WRITER),
    version: '0.1.0',
    signer: signerFromPem(pair.privateKey.export({ type: 'pkcs8', format: 'pem' })),
    checkpointEvery: 4,
    checkpointMs: 3_600_000,
  });
  for (let i = 1; i <= 9; i++) sink.push({ type: 'audit', time: '2026-01-01T00:00:00.000Z', principal: 'apikey:alice', decision: 'allow', n: i });
  await sink.close();
  lines = out.map((l) => l.slice(0, -1));
  write('audit.log', out.join(''));
  write('audit.log.20260101T000000.000Z', out.slice(0, 6).join(''));
  write('audit.log.current', out.slice(6).join(''));
  const edited = [...out];
  edited[5] = edited[5]!.replace('"decision":"allow"', '"decision":"deny"');
  write('edited.log', edited.join(''));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const firstCheckpointLine = () => lines.findIndex((l) => JSON.parse(l).type === 'audit-checkpoint') + 1;

describe('switchboard audit verify', () => {
  it('exits 0 on an intact signed file checked with its public key', async () => {
    const r = await audit(['verify', at('audit.log'), '--public-key', at('public.pem')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${WRITER}: ${lines.length} lines, seq 0–${lines.length - 1}`);
    expect(r.stdout).toMatch(/checkpoints, closed/);
    expect(r.stdout).toContain(`intact: ${lines.length} lines`);
    expect(r.stdout).not.toContain('not checked');
  });

  it('exits 0 without the key, saying the signatures were not checked', async () => {
    const r = await audit(['verify', at('audit.log')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('checkpoint signatures not checked: pass --public-key FILE');
  });

  it('exits 0 on rotated files given oldest first', async () => {
    const [r, later] = await Promise.all([
      audit(['verify', at('audit.log.20260101T000000.000Z'), at('audit.log.current'), '--public-key', at('public.pem')]),
      // The newer file alone begins mid-chain: still intact, and said so.
      audit(['verify', at('audit.log.current')]),
    ]);
    expect(r.code, r.stdout).toBe(0);
    expect(later.code).toBe(0);
    expect(later.stdout).toContain('begins mid-chain');
  });

  it('exits 1 on an edited file, naming file:line, seq and the kind of break', async () => {
    const r = await audit(['verify', at('edited.log')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`BROKEN ${at('edited.log')}:6 (seq 5): edited:`);
    expect(r.stdout).toMatch(/not intact: 1 problem\(s\) in \d+ lines/);
  });

  it('--json prints the report', async () => {
    const [good, bad] = await Promise.all([
      audit(['verify', '--json', at('audit.log'), '--public-key', at('public.pem')]),
      audit(['verify', at('edited.log'), '--json']),
    ]);
    expect(good.code).toBe(0);
    const report = JSON.parse(good.stdout) as VerifyReport;
    expect(report).toMatchObject({ ok: true, lines: lines.length, problems: [], signaturesChecked: true });
    expect(report.writers).toEqual([
      { writer: WRITER, lines: lines.length, firstSeq: 0, lastSeq: lines.length - 1, checkpoints: 3, closed: true, fromStart: true },
    ]);
    expect(bad.code).toBe(1);
    expect((JSON.parse(bad.stdout) as VerifyReport).problems).toEqual([
      { kind: 'edited', file: at('edited.log'), line: 6, writer: WRITER, seq: 5, message: expect.any(String) },
    ]);
  });

  it('--public-key with the wrong key fails at the first checkpoint', async () => {
    const [r, text] = await Promise.all([
      audit(['verify', at('audit.log'), '--public-key', at('wrong.pem'), '--json']),
      audit(['verify', at('audit.log'), '--public-key', at('wrong.pem')]),
    ]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as VerifyReport;
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'bad-signature', line: firstCheckpointLine(), seq: firstCheckpointLine() - 1 })]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`BROKEN ${at('audit.log')}:${firstCheckpointLine()} (seq ${firstCheckpointLine() - 1}): bad-signature:`);
  });

  it('exits 2 with the usage when no FILE is given, or no known subcommand', async () => {
    const [noFile, unknown, noKey] = await Promise.all([
      audit(['verify', '--json']),
      audit(['check', at('audit.log')]),
      audit(['verify', at('audit.log'), '--public-key']),
    ]);
    for (const r of [noFile, unknown, noKey]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/switchboard audit verify FILE…/);
    }
    expect(noFile.stderr).toContain('audit verify needs at least one FILE');
    expect(unknown.stderr).toContain("expected 'verify' or 'replay'");
    expect(noKey.stderr).toContain('--public-key needs a value');
  });

  it('fails, naming the file, when a FILE cannot be read, and refuses a public key that is not Ed25519', async () => {
    const [missing, rsa] = await Promise.all([audit(['verify', at('nope.log')]), audit(['verify', at('audit.log'), '--public-key', at('rsa.pem')])]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(at('nope.log'));
    expect(missing.stderr).toContain('ENOENT');
    expect(rsa.code).not.toBe(0);
    expect(rsa.stderr).toMatch(/Ed25519/);
  });
});
