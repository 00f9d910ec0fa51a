/**
 * The file target: 0600, appended to, rotated by size or age into
 * `<file>.<UTC time>` (the oldest beyond `keep` deleted), the chain going on in
 * the new file so that `audit verify audit.log.* audit.log` sees one chain.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { AuditChain } from '../../../../src/observability/audit/chain.js';
import { ChainedSink } from '../../../../src/observability/audit/sink.js';
import { fileTarget, stderrTarget } from '../../../../src/observability/audit/target.js';
import { verifyAudit } from '../../../../src/observability/audit/verify.js';

const base = mkdtempSync(path.join(tmpdir(), 'switchboard-audit-target-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
/** A fresh directory and the audit file path in it. */
function fresh(): { dir: string; file: string } {
  const dir = path.join(base, `d${n++}`);
  mkdirSync(dir);
  return { dir, file: path.join(dir, 'audit.log') };
}

const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '');
const T0 = Date.UTC(2026, 2, 4, 5, 6, 7, 890);
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** The stream opens its file asynchronously: wait until a (re)opened file is there before the next write could rename it. */
const opened = (file: string) => vi.waitFor(() => expect(existsSync(file)).toBe(true));

/** The rotated files of `file`, oldest first, then `file` itself: what `audit.log.* audit.log` expands to. */
function fileSet(dir: string): string[] {
  const rotated = readdirSync(dir)
    .filter((name) => name.startsWith('audit.log.'))
    .sort();
  return [...rotated, 'audit.log'].map((name) => path.join(dir, name));
}

describe('fileTarget', () => {
  it('creates the file 0600 and appends', async () => {
    const { file } = fresh();
    const t = fileTarget(file);
    t.write('one\n');
    t.write('two\n');
    expect(t.failure()).toBeUndefined();
    await t.close();
    expect(readFileSync(file, 'utf8')).toBe('one\ntwo\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(t.pending()).toBe(0);
  });

  it('appends to a file that is already there, leaving what it holds', async () => {
    const { file } = fresh();
    writeFileSync(file, 'earlier\n', { mode: 0o600 });
    const t = fileTarget(file);
    t.write('later\n');
    await t.close();
    expect(readFileSync(file, 'utf8')).toBe('earlier\nlater\n');
  });

  it('rotates when the file would grow past maxBytes, into <file>.<UTC time>', async () => {
    const { dir, file } = fresh();
    const t = fileTarget(file, { maxBytes: 100, keep: 10 }, () => T0);
    const line = `${'x'.repeat(39)}\n`; // 40 bytes
    t.write(line);
    await opened(file);
    t.write(line); // 80
    t.write(line); // would be 120: rotate first
    expect(t.failure()).toBeUndefined();
    await t.close();
    const rotated = path.join(dir, `audit.log.${stamp(T0)}`);
    expect(readdirSync(dir).sort()).toEqual(['audit.log', `audit.log.${stamp(T0)}`]);
    expect(`audit.log.${stamp(T0)}`).toBe('audit.log.20260304T050607.890Z');
    expect(readFileSync(rotated, 'utf8')).toBe(line + line);
    expect(readFileSync(file, 'utf8')).toBe(line);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(rotated).mode & 0o777).toBe(0o600);
  });

  // The file is opened synchronously: a rotation due right after opening finds it, and no line is lost.
  it('rotates correctly even when the rotation is due before the new file has been opened', async () => {
    const { dir, file } = fresh();
    const t = fileTarget(file, { maxBytes: 100, keep: 10 }, () => T0);
    const line = `${'x'.repeat(39)}\n`;
    t.write(line);
    t.write(line);
    t.write(line);
    const failure = t.failure();
    await t.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(failure).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual(['audit.log', `audit.log.${stamp(T0)}`]);
    expect(readFileSync(file, 'utf8')).toBe(line);
  });

  it('counts the bytes of a file it found, and names a second rotation in the same millisecond <stamp>-1', async () => {
    const { dir, file } = fresh();
    writeFileSync(file, 'x'.repeat(90));
    const t = fileTarget(file, { maxBytes: 100, keep: 10 }, () => T0);
    t.write('v'.repeat(5)); // 95
    await vi.waitFor(() => expect(statSync(file).size).toBe(95));
    t.write('y'.repeat(20)); // 95 + 20 > 100: rotate what was there
    await opened(file);
    t.write('z'.repeat(500)); // 20 + 500 > 100: rotate again
    expect(t.failure()).toBeUndefined();
    await t.close();
    expect(readdirSync(dir).sort()).toEqual(['audit.log', `audit.log.${stamp(T0)}`, `audit.log.${stamp(T0)}-1`]);
    expect(readFileSync(`${file}.${stamp(T0)}`, 'utf8')).toBe(`${'x'.repeat(90)}vvvvv`);
    expect(readFileSync(`${file}.${stamp(T0)}-1`, 'utf8')).toBe('y'.repeat(20));
    expect(readFileSync(file, 'utf8')).toBe('z'.repeat(500));

    const other = fresh();
    const big = fileTarget(other.file, { maxBytes: 10, keep: 10 }, () => T0);
    big.write('w'.repeat(50)); // empty file: written whole, no rotation
    await big.close();
    expect(readdirSync(other.dir)).toEqual(['audit.log']);
  });

  it('rotates by age: maxAgeMs after the file was opened', async () => {
    const { dir, file } = fresh();
    let now = T0;
    const t = fileTarget(file, { maxAgeMs: 1_000, keep: 10 }, () => now);
    t.write('a\n');
    await opened(file);
    now += 999;
    t.write('b\n');
    expect(readdirSync(dir)).toEqual(['audit.log']);
    now += 1;
    t.write('c\n'); // 1000 ms: rotate
    await opened(file);
    now += 500;
    t.write('d\n');
    now += 500;
    t.write('e\n'); // 1000 ms after the NEW file opened
    await t.close();
    expect(readdirSync(dir).sort()).toEqual(['audit.log', `audit.log.${stamp(T0 + 1_000)}`, `audit.log.${stamp(T0 + 2_000)}`]);
    expect(readFileSync(`${file}.${stamp(T0 + 1_000)}`, 'utf8')).toBe('a\nb\n');
    expect(readFileSync(`${file}.${stamp(T0 + 2_000)}`, 'utf8')).toBe('c\nd\n');
    expect(readFileSync(file, 'utf8')).toBe('e\n');
  });

  it('keeps the newest `keep` rotated files and deletes the oldest, leaving other files alone', async () => {
    const { dir, file } = fresh();
    writeFileSync(path.join(dir, 'audit.log.bak'), 'mine');
    writeFileSync(path.join(dir, 'other.log.20200101T000000.000Z'), 'not ours');
    let now = T0;
    const t = fileTarget(file, { maxBytes: 5, keep: 2 }, () => now);
    for (let i = 0; i < 6; i++) {
      t.write(`${i}${i}${i}${i}\n`); // 5 bytes: every later write rotates
      await opened(file);
      now += 60_000;
    }
    await t.close();
    // Rotations happened at T0+1..5 minutes; the three oldest are gone.
    expect(readdirSync(dir).sort()).toEqual(
      ['audit.log', 'audit.log.bak', `audit.log.${stamp(T0 + 4 * 60_000)}`, `audit.log.${stamp(T0 + 5 * 60_000)}`, 'other.log.20200101T000000.000Z'].sort(),
    );
    expect(readFileSync(`${file}.${stamp(T0 + 4 * 60_000)}`, 'utf8')).toBe('3333\n');
    expect(readFileSync(`${file}.${stamp(T0 + 5 * 60_000)}`, 'utf8')).toBe('4444\n');
    expect(readFileSync(file, 'utf8')).toBe('5555\n');
  });

  it('keeps one chain across rotated files: verifying audit.log.* audit.log in order passes', async () => {
    const { dir, file } = fresh();
    let now = T0;
    const sink = new ChainedSink(
      fileTarget(file, { maxBytes: 600, keep: 100 }, () => (now += 1_000)),
      {
        chain: new AuditChain('rot@2026-01-01T00:00:00.000Z'),
        version: '0',
        checkpointEvery: 1000,
        checkpointMs: 60_000,
      },
    );
    for (let i = 0; i < 30; i++) {
      sink.push({ type: 'audit', time: 't', n: i, pad: 'p'.repeat(40) });
      if (i % 3 === 2) {
        await turn();
        await opened(file); // see the rotation race below
      }
    }
    await sink.close();
    const files = fileSet(dir);
    expect(files.length).toBeGreaterThan(3);
    const report = verifyAudit(files.map((f) => ({ file: f, text: readFileSync(f, 'utf8') })));
    expect(report.problems).toEqual([]);
    expect(report.lines).toBe(31);
    expect(report.writers).toEqual([
      { writer: 'rot@2026-01-01T00:00:00.000Z', lines: 31, firstSeq: 0, lastSeq: 30, checkpoints: 0, closed: false, fromStart: true },
    ]);
    // Every file but the current one starts where the one before it ended.
    for (const f of files) expect(statSync(f).size).toBeGreaterThan(0);
    // Without the oldest file, the rest is a chain that begins mid-way.
    const later = verifyAudit(files.slice(1).map((f) => ({ file: f, text: readFileSync(f, 'utf8') })));
    expect(later.ok).toBe(true);
    expect(later.writers[0]!.fromStart).toBe(false);
  });

  it('reports the error class of a file it cannot write (ENOENT, ENOSPC)', async () => {
    const t = fileTarget(path.join(base, 'no-such-dir', 'audit.log'));
    t.write('x\n');
    await vi.waitFor(() => expect(t.failure()).toBe('ENOENT'));
    await t.close();
    if (existsSync('/dev/full')) {
      const full = fileTarget('/dev/full');
      full.write('x\n');
      await vi.waitFor(() => expect(full.failure()).toBe('ENOSPC'));
      await full.close();
    }
  });
});

describe('stderrTarget', () => {
  it('writes to stderr and never fails', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const t = stderrTarget();
      t.write('{"a":1}\n');
      expect(write).toHaveBeenCalledWith('{"a":1}\n');
      expect(t.failure()).toBeUndefined();
      expect(typeof t.pending()).toBe('number');
      await t.close();
    } finally {
      write.mockRestore();
    }
  });
});
