/**
 * `switchboard.lock`: entries set and looked up without prototype surprises,
 * written whole and sorted (YAML with a header, or JSON by extension), and
 * read back only if it matches its schema and every hash is its contract's.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { contractOf, hashFields, type ContractKind } from '../../../src/contracts/contract.js';
import { emptyLock, type Lock, type LockEntry, lockedEntries, lockedEntry, readLock, withEntry, writeLock } from '../../../src/contracts/lock.js';
import { LOCKFILE_VERSION, lockJsonSchema } from '../../../src/contracts/lock-schema.js';
import { ConfigError } from '../../../src/core/errors.js';

function entry(kind: ContractKind, item: Record<string, unknown>): LockEntry {
  const contract = contractOf(kind, 'any', item)!;
  return { hash: hashFields(contract.fields), contract: contract.fields };
}

const ISSUE = entry('tool', {
  name: 'create_issue',
  description: 'Creates an issue.',
  inputSchema: { type: 'object', properties: { title: { type: 'string' } } },
  annotations: { readOnlyHint: false },
});
const LIST = entry('tool', { name: 'list_issues', description: 'Lists issues.', inputSchema: { type: 'object' } });
const TRIAGE = entry('prompt', { name: 'triage', arguments: [{ name: 'number', required: true }] });
const REPO = entry('resourceTemplate', { uriTemplate: 'repo://{owner}/{name}', name: 'repo' });

/** A lock with entries of every kind, built out of order. */
function sample(): Lock {
  let lock = emptyLock();
  lock = withEntry(lock, 'slack', 'tool', 'post', LIST);
  lock = withEntry(lock, 'github', 'tool', 'list_issues', LIST);
  lock = withEntry(lock, 'github', 'tool', 'create_issue', ISSUE);
  lock = withEntry(lock, 'github', 'prompt', 'triage', TRIAGE);
  lock = withEntry(lock, 'github', 'resourceTemplate', 'repo://{owner}/{name}', REPO);
  return lock;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-lock-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The ConfigError that reading `text` as `name` raises. */
function readError(name: string, text: string): ConfigError {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  let caught: unknown;
  try {
    readLock(file);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  return caught as ConfigError;
}

describe('emptyLock, withEntry, lockedEntry, lockedEntries', () => {
  it('starts empty at the current version', () => {
    expect(emptyLock()).toEqual({ lockfileVersion: LOCKFILE_VERSION, servers: {} });
    expect(LOCKFILE_VERSION).toBe(1);
  });

  it('sets an entry in a copy, with every section present, leaving the original alone', () => {
    const before = emptyLock();
    const after = withEntry(before, 'github', 'tool', 'create_issue', ISSUE);
    expect(before.servers).toEqual({});
    expect(after.servers).toEqual({ github: { tools: { create_issue: ISSUE }, prompts: {}, resourceTemplates: {} } });
  });

  it('removes an entry (undefined) without touching the others or the original', () => {
    const lock = sample();
    const after = withEntry(lock, 'github', 'tool', 'create_issue', undefined);
    expect(lockedEntry(after, 'github', 'tool', 'create_issue')).toBeUndefined();
    expect(lockedEntry(after, 'github', 'tool', 'list_issues')).toEqual(LIST);
    expect(lockedEntry(after, 'github', 'prompt', 'triage')).toEqual(TRIAGE);
    expect(lockedEntry(lock, 'github', 'tool', 'create_issue')).toEqual(ISSUE);
  });

  it('looks entries up by server, kind and name', () => {
    const lock = sample();
    expect(lockedEntry(lock, 'github', 'tool', 'create_issue')).toEqual(ISSUE);
    expect(lockedEntry(lock, 'github', 'resourceTemplate', 'repo://{owner}/{name}')).toEqual(REPO);
    expect(lockedEntry(lock, 'github', 'prompt', 'create_issue')).toBeUndefined();
    expect(lockedEntry(lock, 'slack', 'tool', 'create_issue')).toBeUndefined();
    expect(lockedEntry(lock, 'nobody', 'tool', 'create_issue')).toBeUndefined();
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])('finds no entry named %j that the lock lacks', (name) => {
    const lock = sample();
    expect(lockedEntry(lock, 'github', 'tool', name)).toBeUndefined();
    expect(lockedEntry(lock, 'github', 'prompt', name)).toBeUndefined();
    expect(lockedEntry(lock, name, 'tool', 'create_issue')).toBeUndefined();
  });

  it('keeps an entry named "constructor" as an own entry', () => {
    const lock = withEntry(emptyLock(), 'github', 'tool', 'constructor', ISSUE);
    expect(lockedEntry(lock, 'github', 'tool', 'constructor')).toEqual(ISSUE);
    expect(lockedEntries(lock, 'github').map((e) => e.name)).toEqual(['constructor']);
  });

  // A tool may be named "__proto__": it is stored as an own entry, not as the section's prototype.
  it('keeps an entry named "__proto__" as an own entry', () => {
    const lock = withEntry(emptyLock(), 'github', 'tool', '__proto__', ISSUE);
    expect(Object.keys(lock.servers.github?.tools ?? {})).toEqual(['__proto__']);
    expect(lockedEntry(lock, 'github', 'tool', '__proto__')).toEqual(ISSUE);
  });

  it('lists every entry of a server with its kind and name', () => {
    const entries = lockedEntries(sample(), 'github');
    expect(entries.map(({ kind, name }) => [kind, name]).sort()).toEqual([
      ['prompt', 'triage'],
      ['resourceTemplate', 'repo://{owner}/{name}'],
      ['tool', 'create_issue'],
      ['tool', 'list_issues'],
    ]);
    expect(entries.find((e) => e.name === 'triage')?.entry).toEqual(TRIAGE);
    expect(lockedEntries(sample(), 'nobody')).toEqual([]);
  });

  // Servers named "constructor" or "toString" (valid per SERVER_NAME_PATTERN) must not resolve to
  // Object's members.
  it.each(['constructor', 'toString'])('handles a server named %j like any other', (server) => {
    expect(lockedEntries(sample(), server)).toEqual([]);
    const lock = withEntry(emptyLock(), server, 'tool', 'a', ISSUE);
    expect(lock.servers[server]).toEqual({ tools: { a: ISSUE }, prompts: {}, resourceTemplates: {} });
    const file = path.join(dir, 'switchboard.lock');
    writeLock(file, lock);
    expect(lockedEntry(readLock(file)!, server, 'tool', 'a')).toEqual(ISSUE);
  });
});

describe('writeLock and readLock', () => {
  it('is undefined for a missing file', () => {
    expect(readLock(path.join(dir, 'nope.lock'))).toBeUndefined();
  });

  it('round-trips YAML, with a comment header naming the approve command', () => {
    const file = path.join(dir, 'switchboard.lock');
    writeLock(file, sample());
    const text = readFileSync(file, 'utf8');
    const header = text.split('\n').filter((line) => line.startsWith('#'));
    expect(header.length).toBeGreaterThan(0);
    expect(header.join('\n')).toContain('switchboard pin approve');
    expect(text.startsWith('# ')).toBe(true);
    expect(YAML.parse(text)).toEqual(sample());
    expect(readLock(file)).toEqual(sample());
  });

  it.each(['switchboard.lock.json', 'LOCK.JSON'])('writes JSON when the file ends in .json (%s)', (name) => {
    const file = path.join(dir, name);
    writeLock(file, sample());
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).not.toContain('#');
    expect(JSON.parse(text)).toEqual(sample());
    expect(readLock(file)).toEqual(sample());
  });

  it('sorts servers and entries, so the same lock is always the same text', () => {
    const file = path.join(dir, 'lock.json');
    writeLock(file, sample());
    const written = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(written)).toEqual(['lockfileVersion', 'servers']);
    expect(Object.keys(written.servers)).toEqual(['github', 'slack']);
    expect(Object.keys(written.servers.github)).toEqual(['tools', 'prompts', 'resourceTemplates']);
    expect(Object.keys(written.servers.github.tools)).toEqual(['create_issue', 'list_issues']);
    const again = path.join(dir, 'again.json');
    let reversed = emptyLock();
    for (const { kind, name, entry } of lockedEntries(sample(), 'github').reverse()) reversed = withEntry(reversed, 'github', kind, name, entry);
    reversed = withEntry(reversed, 'slack', 'tool', 'post', LIST);
    writeLock(again, reversed);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(file, 'utf8'));
  });

  it('replaces an existing lock whole and leaves no temporary file behind', () => {
    const file = path.join(dir, 'switchboard.lock');
    writeLock(file, sample());
    const smaller = withEntry(withEntry(sample(), 'slack', 'tool', 'post', undefined), 'github', 'prompt', 'triage', undefined);
    writeLock(file, smaller);
    expect(readLock(file)).toEqual(smaller);
    expect(readdirSync(dir)).toEqual(['switchboard.lock']);
  });

  it('reads sections left out as empty', () => {
    const file = path.join(dir, 'switchboard.lock');
    writeFileSync(file, `lockfileVersion: 1\nservers:\n  github:\n    tools:\n      create_issue: ${JSON.stringify(ISSUE)}\n`);
    expect(readLock(file)).toEqual({
      lockfileVersion: 1,
      servers: { github: { tools: { create_issue: ISSUE }, prompts: {}, resourceTemplates: {} } },
    });
  });

  it('refuses an entry whose hash is not its contract’s, naming the file, the entry and the fix', () => {
    const edited = withEntry(sample(), 'github', 'tool', 'create_issue', {
      hash: ISSUE.hash,
      contract: { ...ISSUE.contract, annotations: { readOnlyHint: true } },
    });
    const err = readError('switchboard.lock', YAML.stringify(edited));
    const file = path.join(dir, 'switchboard.lock');
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.issues).toEqual([
      {
        file,
        path: 'servers.github.tools.create_issue.hash',
        message: expect.stringContaining('edited by hand'),
        fix: expect.stringContaining('switchboard pin'),
      },
    ]);
    expect(err.message).toContain(`${file} at servers.github.tools.create_issue.hash`);
    expect(err.message).toContain('fix: rewrite the lock from the live servers with `switchboard pin`');
  });

  it('names every tampered entry, quoting names that are not plain identifiers', () => {
    let lock = sample();
    lock = withEntry(lock, 'github', 'resourceTemplate', 'repo://{owner}/{name}', { ...REPO, hash: `sha256:${'0'.repeat(64)}` });
    lock = withEntry(lock, 'github', 'tool', 'list_issues', { ...LIST, contract: { ...LIST.contract, description: 'Lists issues. ' } });
    const err = readError('lock.json', JSON.stringify(lock));
    expect(err.issues.map((i) => i.path)).toEqual(['servers.github.tools.list_issues.hash', 'servers.github.resourceTemplates["repo://{owner}/{name}"].hash']);
  });

  it('accepts a hand-written lock whose hashes are right, whatever its key order', () => {
    const reordered = {
      servers: { github: { tools: { create_issue: { contract: Object.fromEntries(Object.entries(ISSUE.contract).reverse()), hash: ISSUE.hash } } } },
      lockfileVersion: 1,
    };
    const file = path.join(dir, 'lock.json');
    writeFileSync(file, JSON.stringify(reordered, null, 3));
    expect(lockedEntry(readLock(file)!, 'github', 'tool', 'create_issue')?.hash).toBe(ISSUE.hash);
  });

  it('refuses a lock of another version', () => {
    const err = readError('switchboard.lock', 'lockfileVersion: 2\nservers: {}\n');
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({ file: path.join(dir, 'switchboard.lock'), path: 'lockfileVersion' });
  });

  it('refuses a lock without a version', () => {
    const err = readError('switchboard.lock', 'servers: {}\n');
    expect(err.issues.map((i) => i.path)).toEqual(['lockfileVersion']);
  });

  it('refuses a malformed hash and unknown keys, naming where', () => {
    const bad = {
      lockfileVersion: 1,
      extra: true,
      servers: { github: { tools: { create_issue: { hash: 'md5:abc', contract: ISSUE.contract } }, widgets: {} } },
    };
    const err = readError('lock.json', JSON.stringify(bad));
    const paths = err.issues.map((i) => i.path);
    expect(paths).toContain('servers.github.tools.create_issue.hash');
    expect(paths.some((p) => p.includes('extra'))).toBe(true);
    expect(paths.some((p) => p.includes('widgets'))).toBe(true);
    expect(err.issues.find((i) => i.path === 'servers.github.tools.create_issue.hash')?.message).toContain('sha256:');
  });

  it('refuses an entry without its contract', () => {
    const err = readError('lock.json', JSON.stringify({ lockfileVersion: 1, servers: { github: { tools: { t: { hash: ISSUE.hash } } } } }));
    expect(err.issues.map((i) => i.path)).toEqual(['servers.github.tools.t.contract']);
  });

  it('refuses YAML and JSON syntax errors as ConfigErrors for the file', () => {
    expect(readError('switchboard.lock', 'lockfileVersion: [1\n').issues[0]).toMatchObject({ path: '', message: expect.stringContaining('YAML') });
    expect(readError('lock.json', '{"lockfileVersion": 1,}').issues[0]).toMatchObject({ path: '', message: expect.stringContaining('JSON') });
  });

  it('round-trips names that are Object.prototype members', () => {
    let lock = emptyLock();
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) lock = withEntry(lock, 'github', 'tool', name, ISSUE);
    for (const file of [path.join(dir, 'a.lock'), path.join(dir, 'a.json')]) {
      writeLock(file, lock);
      const read = readLock(file)!;
      for (const name of ['constructor', 'toString', 'hasOwnProperty']) expect(lockedEntry(read, 'github', 'tool', name)).toEqual(ISSUE);
    }
  });

  // zod rebuilds records by assignment and would drop an own "__proto__" key: readLock keeps the
  // file's own keys, so the approved entry (and its hash check) is not lost.
  it.each(['lock.json', 'switchboard.lock'])('reads back an entry named "__proto__" (%s)', (name) => {
    const file = path.join(dir, name);
    const text = name.endsWith('.json')
      ? `{"lockfileVersion":1,"servers":{"github":{"tools":{"__proto__":${JSON.stringify(ISSUE)}}}}}`
      : `lockfileVersion: 1\nservers:\n  github:\n    tools:\n      __proto__: ${JSON.stringify(ISSUE)}\n`;
    writeFileSync(file, text);
    const lock = readLock(file)!;
    expect(lockedEntry(lock, 'github', 'tool', '__proto__')).toEqual(ISSUE);
  });
});

describe('lockJsonSchema', () => {
  it('is a 2020-12 schema of the lock, titled', () => {
    const schema = lockJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.title).toBe('Switchboard contract lock');
    expect(Object.keys(schema)[0]).toBe('$schema');
    expect(JSON.stringify(schema)).toContain('lockfileVersion');
  });
});
