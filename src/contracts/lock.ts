/**
 * Reading and writing `switchboard.lock`. A lock that cannot be read, does not
 * match its schema, or holds an entry whose hash is not its contract's (a hand
 * edit) is a `ConfigError` naming the file, the entry and the fix: the
 * gateway never pins against a lock it cannot trust.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type ConfigIssue } from '../core/errors.js';
import { formatPath, mapIssue, issueCollector } from '../config/issues.js';
import { parseJsonText, parseYamlText, toYamlText } from '../config/raw.js';
import { hashFields, type ContractKind } from './contract.js';
import { LOCKFILE_VERSION, LockSchema, type Lock, type LockEntry, type ServerLock } from './lock-schema.js';

export type { Lock, LockEntry } from './lock-schema.js';

const SECTION: Record<ContractKind, 'tools' | 'prompts' | 'resourceTemplates'> = {
  tool: 'tools',
  prompt: 'prompts',
  resourceTemplate: 'resourceTemplates',
};

const HEADER = `Approved tool, prompt and resource-template contracts (switchboard pin).
Review changes to this file like code; update it with \`switchboard pin approve\`.`;

export function emptyLock(): Lock {
  return { lockfileVersion: LOCKFILE_VERSION, servers: {} };
}

/** The approved entry for one server's item, if the lock has it. */
export function lockedEntry(lock: Lock, server: string, kind: ContractKind, name: string): LockEntry | undefined {
  const section = serverLock(lock, server)?.[SECTION[kind]];
  return section && Object.hasOwn(section, name) ? section[name] : undefined;
}

/** How many entries the lock approves, over every server and kind. */
export function countEntries(lock: Lock): number {
  return Object.values(lock.servers).reduce(
    (n, s) => n + Object.keys(s.tools).length + Object.keys(s.prompts).length + Object.keys(s.resourceTemplates).length,
    0,
  );
}

/** Every entry of a server in the lock, with its kind and name. */
export function lockedEntries(lock: Lock, server: string): { kind: ContractKind; name: string; entry: LockEntry }[] {
  const s = serverLock(lock, server);
  if (!s) return [];
  return (Object.keys(SECTION) as ContractKind[]).flatMap((kind) => Object.entries(s[SECTION[kind]]).map(([name, entry]) => ({ kind, name, entry })));
}

/** A copy of `lock` with one entry set (`entry` given) or removed. */
export function withEntry(lock: Lock, server: string, kind: ContractKind, name: string, entry: LockEntry | undefined): Lock {
  // Entries are copied as own data properties (Object.fromEntries), never assigned:
  // a tool named "__proto__" or a server named "constructor" is a name like any other.
  const current = serverLock(lock, server) ?? { tools: {}, prompts: {}, resourceTemplates: {} };
  const others = Object.entries(current[SECTION[kind]]).filter(([key]) => key !== name);
  const section = Object.fromEntries(entry ? [...others, [name, entry]] : others);
  const updated = { ...current, [SECTION[kind]]: section };
  const servers = Object.fromEntries([...Object.entries(lock.servers).filter(([key]) => key !== server), [server, updated]]);
  return { ...lock, servers };
}

/** A server's part of the lock: own entries only (a server may be named "constructor"). */
function serverLock(lock: Lock, server: string): ServerLock | undefined {
  return Object.hasOwn(lock.servers, server) ? lock.servers[server] : undefined;
}

/** Reads and checks `file`; a missing file is `undefined` (the caller decides whether that is an error). */
export function readLock(file: string): Lock | undefined {
  if (!existsSync(file)) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw lockError(file, '', `cannot read the lock (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'check the path and its permissions');
  }
  const raw = isJson(file) ? parseJsonText(text, file) : parseYamlText(text, file);
  const parsed = LockSchema.safeParse(raw);
  if (!parsed.success) {
    const { issues, add } = issueCollector(file);
    for (const issue of parsed.error.issues) mapIssue(issue, [], raw, add);
    throw new ConfigError(issues);
  }
  const lock = ownKeysOf(raw as Lock, parsed.data);
  const tampered = tamperedEntries(file, lock);
  if (tampered.length > 0) throw new ConfigError(tampered);
  return lock;
}

/** Writes the lock whole (a temporary file renamed over it, so a reader never sees half a lock), sorted for stable diffs. */
export function writeLock(file: string, lock: Lock): void {
  const sorted = sortLock(lock);
  const text = isJson(file) ? `${JSON.stringify(sorted, null, 2)}\n` : toYamlText(sorted, HEADER);
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

function tamperedEntries(file: string, lock: Lock): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [server, s] of Object.entries(lock.servers)) {
    for (const section of ['tools', 'prompts', 'resourceTemplates'] as const) {
      for (const [name, entry] of Object.entries(s[section])) {
        if (hashFields(entry.contract) === entry.hash) continue;
        issues.push({
          file,
          path: formatPath(['servers', server, section, name, 'hash']),
          message: "the hash is not the hash of this entry's contract (the lock was edited by hand)",
          fix: 'rewrite the lock from the live servers with `switchboard pin` and review the diff',
        });
      }
    }
  }
  return issues;
}

/**
 * The validated lock with the file's own keys: zod rebuilds records by
 * assignment and loses a key such as "__proto__"; the raw value (already
 * checked to have this shape) keeps it.
 */
function ownKeysOf(raw: Lock, parsed: Lock): Lock {
  const section = (record: Record<string, LockEntry> | undefined) =>
    Object.fromEntries(Object.entries(record ?? {}).map(([name, e]) => [name, { hash: e.hash, contract: e.contract }]));
  const servers = Object.fromEntries(
    Object.entries(raw.servers ?? {}).map(([name, s]) => [
      name,
      { tools: section(s.tools), prompts: section(s.prompts), resourceTemplates: section(s.resourceTemplates) },
    ]),
  );
  return { lockfileVersion: parsed.lockfileVersion, servers };
}

function sortLock(lock: Lock): Lock {
  const sortKeys = <T>(record: Record<string, T>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const servers = Object.fromEntries(
    Object.entries(sortKeys(lock.servers)).map(([name, s]) => [
      name,
      { tools: sortKeys(s.tools), prompts: sortKeys(s.prompts), resourceTemplates: sortKeys(s.resourceTemplates) },
    ]),
  );
  return { lockfileVersion: lock.lockfileVersion, servers };
}

function lockError(file: string, at: string, message: string, fix: string): ConfigError {
  return new ConfigError([{ file, path: at, message, fix }]);
}

const isJson = (file: string) => /\.json$/i.test(file);
