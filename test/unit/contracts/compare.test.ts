/**
 * compareWithLock and approve: what `pin --check` and `pin diff` report
 * (entries added, changed, removed) and the lock that approving them yields.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { approve, compareWithLock, type LiveEntry } from '../../../src/contracts/compare.js';
import { contractOf, hashFields, type ContractKind } from '../../../src/contracts/contract.js';
import { emptyLock, type Lock, lockedEntries, lockedEntry, readLock, withEntry, writeLock } from '../../../src/contracts/lock.js';

function liveEntry(kind: ContractKind, server: string, item: Record<string, unknown>): LiveEntry {
  const contract = contractOf(kind, server, item)!;
  return { contract, hash: hashFields(contract.fields) };
}

function lockOf(entries: LiveEntry[]): Lock {
  return entries.reduce(
    (lock, { contract, hash }) => withEntry(lock, contract.server, contract.kind, contract.name, { hash, contract: contract.fields }),
    emptyLock(),
  );
}

const readFile = { name: 'read_file', description: 'Reads a file.', inputSchema: { type: 'object', properties: { path: { type: 'string' } } } };
const writeFile = { name: 'write_file', description: 'Writes a file.', inputSchema: { type: 'object' }, annotations: { destructiveHint: true } };
const deleteFile = { name: 'delete_file', description: 'Deletes a file.', inputSchema: { type: 'object' } };
const triage = { name: 'triage', description: 'Triage an issue.' };
const template = { uriTemplate: 'file:///{path}', name: 'file' };

/** The lock approves read_file, write_file, delete_file, triage and a template on fs, and one tool on gh. */
const LOCK = lockOf([
  liveEntry('tool', 'fs', readFile),
  liveEntry('tool', 'fs', writeFile),
  liveEntry('tool', 'fs', deleteFile),
  liveEntry('prompt', 'fs', triage),
  liveEntry('resourceTemplate', 'fs', template),
  liveEntry('tool', 'gh', { name: 'create_issue', inputSchema: { type: 'object' } }),
]);

/** fs now: read_file as approved, write_file changed, delete_file and the template gone, triage as approved, list_dir new. */
const LIVE = [
  liveEntry('tool', 'fs', readFile),
  liveEntry('tool', 'fs', { ...writeFile, annotations: { destructiveHint: false } }),
  liveEntry('prompt', 'fs', triage),
  liveEntry('tool', 'fs', { name: 'list_dir', inputSchema: { type: 'object' } }),
];

describe('compareWithLock', () => {
  it('finds nothing when every live entry is the approved one', () => {
    const same = [liveEntry('tool', 'fs', readFile), liveEntry('tool', 'fs', { ...writeFile })];
    expect(compareWithLock(lockOf(same), same, ['fs'])).toEqual([]);
  });

  it('reports added, changed and removed entries, with the diff of a change', () => {
    const differences = compareWithLock(LOCK, LIVE, ['fs']);
    expect(differences.map((d) => [d.change, d.server, d.kind, d.name])).toEqual([
      ['changed', 'fs', 'tool', 'write_file'],
      ['added', 'fs', 'tool', 'list_dir'],
      ['removed', 'fs', 'tool', 'delete_file'],
      ['removed', 'fs', 'resourceTemplate', 'file:///{path}'],
    ]);
    const changed = differences[0]!;
    expect(changed.change === 'changed' && changed.diff).toMatchObject({
      drifted: ['annotations'],
      widens: true,
      widening: ['annotations.destructiveHint: true → false'],
    });
    expect(changed.change === 'changed' && changed.live).toBe(LIVE[1]);
    const added = differences[1]!;
    expect(added.change === 'added' && added.live).toBe(LIVE[3]);
  });

  it('judges removal only for the servers whose lists were read', () => {
    expect(compareWithLock(LOCK, [], []).length).toBe(0);
    const differences = compareWithLock(LOCK, [], ['gh']);
    expect(differences).toEqual([{ change: 'removed', server: 'gh', kind: 'tool', name: 'create_issue' }]);
  });

  it('compares against an empty lock: everything is added', () => {
    expect(compareWithLock(emptyLock(), LIVE, ['fs']).map((d) => d.change)).toEqual(['added', 'added', 'added', 'added']);
  });

  it('keeps servers apart: the same name on another server is another entry', () => {
    const differences = compareWithLock(LOCK, [liveEntry('tool', 'gh', readFile)], ['gh']);
    expect(differences.map((d) => [d.change, d.server, d.name])).toEqual([
      ['added', 'gh', 'read_file'],
      ['removed', 'gh', 'create_issue'],
    ]);
  });

  it('keeps kinds apart: a prompt named like a tool is another entry', () => {
    const differences = compareWithLock(LOCK, [liveEntry('prompt', 'fs', { name: 'read_file' })], []);
    expect(differences.map((d) => [d.change, d.kind, d.name])).toEqual([['added', 'prompt', 'read_file']]);
  });

  it.each(['constructor', 'toString', '__proto__'])('reports a live entry named %j that the lock lacks as added', (name) => {
    const differences = compareWithLock(LOCK, [liveEntry('tool', 'fs', { name })], []);
    expect(differences.map((d) => [d.change, d.name])).toEqual([['added', name]]);
  });
});

describe('approve', () => {
  it('applies every difference: added and changed take the live contract, removed entries leave the lock', () => {
    const differences = compareWithLock(LOCK, LIVE, ['fs']);
    const next = approve(LOCK, differences);
    expect(compareWithLock(next, LIVE, ['fs'])).toEqual([]);
    expect(lockedEntry(next, 'fs', 'tool', 'write_file')).toEqual({ hash: LIVE[1]!.hash, contract: LIVE[1]!.contract.fields });
    expect(lockedEntry(next, 'fs', 'tool', 'list_dir')).toEqual({ hash: LIVE[3]!.hash, contract: LIVE[3]!.contract.fields });
    expect(lockedEntry(next, 'fs', 'tool', 'delete_file')).toBeUndefined();
    expect(lockedEntry(next, 'fs', 'resourceTemplate', 'file:///{path}')).toBeUndefined();
    expect(
      lockedEntries(next, 'fs')
        .map((e) => e.name)
        .sort(),
    ).toEqual(['list_dir', 'read_file', 'triage', 'write_file']);
    // Servers not compared are left as they were.
    expect(lockedEntries(next, 'gh')).toEqual(lockedEntries(LOCK, 'gh'));
  });

  it('leaves the given lock unchanged', () => {
    const before = JSON.stringify(LOCK);
    approve(LOCK, compareWithLock(LOCK, LIVE, ['fs']));
    expect(JSON.stringify(LOCK)).toBe(before);
  });

  it('approves only the differences given', () => {
    const differences = compareWithLock(LOCK, LIVE, ['fs']);
    const next = approve(
      LOCK,
      differences.filter((d) => d.name === 'list_dir'),
    );
    expect(compareWithLock(next, LIVE, ['fs']).map((d) => [d.change, d.name])).toEqual([
      ['changed', 'write_file'],
      ['removed', 'delete_file'],
      ['removed', 'file:///{path}'],
    ]);
  });

  it('yields a lock that writes and reads back (every hash is its contract’s)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-approve-'));
    try {
      const next = approve(LOCK, compareWithLock(LOCK, LIVE, ['fs']));
      const file = path.join(dir, 'switchboard.lock');
      writeLock(file, next);
      const read = readLock(file)!;
      expect(compareWithLock(read, LIVE, ['fs'])).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
