/**
 * Policy files → one `PolicySet`. Reads every `*.yaml`/`*.yml` of a directory
 * (not `*.tests.yaml`), validates each with zod, compiles each, then merges
 * them: rule ids must be unique across files and a server or group setting
 * may be given by one file only. Every failure is one `ConfigError` listing
 * all issues of all files. The only file of `policy/` that does I/O (and it
 * only reads: watching for changes is the caller's job).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type ConfigIssue } from '../core/errors.js';
import { formatPath } from '../config/issues.js';
import { closestKey } from '../config/schema/index.js';
import { isGlob } from './glob.js';
import { parseYamlText } from '../config/raw.js';
import { compileFile, type FileInput, type FileParts, type ServerParts } from './compile.js';
import { collector, mapZodIssue } from './issues.js';
import { GroupPolicySchema, PolicyFileSchema, RuleSchema, ServerPolicySchema } from './schema.js';
import type { CompiledRule, GroupPolicy, Matcher, PolicySet, ServerPolicy } from './types.js';

export type { PolicySet } from './types.js';

/** Policy files, in the order they are read; tests files are not policies. */
export const isPolicyFile = (name: string): boolean => /\.ya?ml$/i.test(name) && !isPolicyTestsFile(name);
export const isPolicyTestsFile = (name: string): boolean => /\.tests\.ya?ml$/i.test(name);

export const emptyPolicySet = (): PolicySet => ({ files: [], rules: [], servers: {}, groups: {} });

/**
 * What the configuration knows, to check policy files against: a rule or
 * setting that names a server the config does not have never applies, so it
 * is an error (with a did-you-mean). Globs are not checked: they are how a
 * rule targets servers added later. Undefined: nothing is checked.
 */
export interface KnownNames {
  servers: ReadonlySet<string>;
  /** Every group a caller can have, when the config knows them all (API keys and the stdio principal, no JWT). */
  groups?: ReadonlySet<string>;
}

/** Every policy file in `dir`, sorted by name. A missing directory (or none, `false`) is an empty set, not an error. */
export function loadPolicyDir(dir: string | false, known?: KnownNames): PolicySet {
  if (dir === false) return emptyPolicySet();
  const abs = path.resolve(dir);
  const names = listDir(abs, isPolicyFile);
  if (names === undefined) return emptyPolicySet();
  const issues: ConfigIssue[] = [];
  const parts: FileParts[] = [];
  for (const name of names) {
    const file = path.join(abs, name);
    const text = readText(file, issues);
    const part = text === undefined ? undefined : parseFile(text, file, issues);
    if (part) parts.push(part);
  }
  const warnings: ConfigIssue[] = [];
  if (known) for (const part of parts) checkNames(part, known, issues, warnings);
  const set = assemble(parts, issues);
  if (warnings.length > 0) set.warnings = [...(set.warnings ?? []), ...warnings];
  return set;
}

/** One policy file's text (for tests and `policy explain` on a single file). */
export function parsePolicyText(text: string, file: string): PolicySet {
  const issues: ConfigIssue[] = [];
  const part = parseFile(text, file, issues);
  return assemble(part ? [part] : [], issues);
}

/** Sorted names in `dir` that pass `keep`; undefined if the directory does not exist. */
export function listDir(dir: string, keep: (name: string) => boolean): string[] | undefined {
  try {
    const entries = readdirSync(dir, { withFileTypes: true });
    return entries
      .filter((e) => !e.isDirectory() && keep(e.name))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    const message = `cannot read the policy directory (${code ?? String(err)})`;
    throw new ConfigError([{ file: dir, path: '', message, fix: 'check gateway.policies and the permissions' }]);
  }
}

export function readText(file: string, issues: ConfigIssue[]): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const message = `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    issues.push({ file, path: '', message, fix: 'check the file and its permissions' });
    return undefined;
  }
}

/** YAML text → the file's raw value (an empty file is an empty object), collecting syntax issues. */
export function parseYaml(text: string, file: string, issues: ConfigIssue[]): unknown {
  try {
    return parseYamlText(text, file) ?? {};
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
    return undefined;
  }
}

function parseFile(text: string, file: string, issues: ConfigIssue[]): FileParts | undefined {
  // An empty file is what a truncate-then-write edit or a half-copied deploy
  // looks like: it is not read as "no rules" (write `rules: []` for that).
  if (text.trim() === '' || text.split('\n').every((line) => /^\s*(#.*)?$/.test(line))) {
    issues.push({
      file,
      path: '',
      message: 'the policy file is empty',
      fix: 'if it is meant to hold no rules, write "rules: []"; otherwise finish writing it',
    });
    return undefined;
  }
  const raw = parseYaml(text, file, issues);
  if (raw === undefined) return undefined;
  const add = collector(file, raw, issues);
  const result = PolicyFileSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) mapZodIssue(issue, raw, add, PolicyFileSchema);
    // Still compile the parts that are valid, so CEL errors and duplicate ids
    // show up in the same run (the issues above keep the set from being used).
    return compileFile(validParts(raw), file, add);
  }
  return compileFile(result.data, file, add);
}

/** The rules, server and group settings of an invalid file that are valid on their own. */
function validParts(raw: unknown): FileInput {
  const data = isObj(raw) ? raw : {};
  const rules = Array.isArray(data.rules) ? data.rules.map((r) => RuleSchema.safeParse(r).data) : [];
  return { rules, servers: validEntries(data.servers, ServerPolicySchema), groups: validEntries(data.groups, GroupPolicySchema) };
}

function validEntries<T>(value: unknown, schema: { safeParse(v: unknown): { success: boolean; data?: T } }): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [name, entry] of Object.entries(isObj(value) ? value : {})) {
    const parsed = schema.safeParse(entry);
    if (parsed.success) out[name] = parsed.data as T;
  }
  return out;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Exact server names in rules' `match.servers` and in `servers:` settings
 * must be configured servers (an error). A `groups:` setting for a group no
 * caller has, where the config knows them all, is a warning: it may be a
 * typo that leaves the group unrestricted, or a group whose keys come later.
 */
function checkNames(part: FileParts, known: KnownNames, issues: ConfigIssue[], warnings: ConfigIssue[]): void {
  const servers = [...known.servers];
  const unknown = (name: string, at: (string | number)[], what: string) => {
    const guess = closestKey(name, servers);
    issues.push({
      file: part.file,
      path: formatPath(at),
      message: `${what} names the server "${name}", which the configuration does not have, so it would never apply`,
      fix: `${guess ? `did you mean "${guess}"? ` : ''}use a configured server (${servers.join(', ') || 'none'}); for a server added later, list it in the config with "url": "" or "enabled": false, or match it with a glob`,
    });
  };
  for (const { rule, index } of part.rules) {
    rule.match.servers?.globs.forEach((name, j) => {
      if (!isGlob(name) && !known.servers.has(name)) unknown(name, ['rules', index, 'match', 'servers', j], `rule "${rule.id}"`);
    });
  }
  for (const name of Object.keys(part.servers)) if (!known.servers.has(name)) unknown(name, ['servers', name], `the "servers" block`);
  const groups = known.groups;
  if (!groups) return;
  for (const name of Object.keys(part.groups)) {
    if (groups.has(name)) continue;
    const guess = closestKey(name, [...groups]);
    warnings.push({
      file: part.file,
      path: formatPath(['groups', name]),
      message: `the group "${name}" is not a group of any API key or of the stdio principal: this setting applies to nobody yet`,
      fix: `${guess ? `did you mean "${guess}"? ` : ''}groups the config gives: ${[...groups].join(', ') || 'none'}`,
    });
  }
}

/**
 * Conditions of deny and require rules that read `args` without checking a
 * type: a call with another type denies (the condition errors and fails
 * closed), which may surprise the author; a guard makes the intent explicit.
 */
function unguardedArgs(rules: readonly CompiledRule[]): ConfigIssue[] {
  return rules
    .filter((r) => r.effect !== 'allow' && [r.when, r.condition].some((e) => e?.usesArgs && !/\btype\s*\(/.test(e.source)))
    .map((r) => ({
      file: r.file,
      path: `rule "${r.id}"`,
      message: 'its condition reads args without checking their type: a call that sends another type (a list for a string) is denied',
      fix: `guard it so another type is decided on purpose, e.g. "has(args.path) && (type(args.path) != string || args.path.startsWith('/etc'))"`,
    }));
}

function assemble(parts: FileParts[], issues: ConfigIssue[]): PolicySet {
  const rules = collectRules(parts, issues);
  const servers = mergeSettings(parts, 'servers', issues);
  const groups = mergeSettings(parts, 'groups', issues);
  if (issues.length > 0) throw new ConfigError(issues);
  const set: PolicySet = { files: parts.map((p) => p.file), rules, servers: {}, groups: groups.values };
  const warnings = unguardedArgs(rules);
  if (warnings.length > 0) set.warnings = warnings;
  for (const [name, s] of Object.entries(servers.values)) {
    set.servers[name] = toServerPolicy(s);
    rules.push(...derivedRules(name, s, servers.files));
  }
  return set;
}

/** File rules in file order; a duplicate id names both places. */
function collectRules(parts: FileParts[], issues: ConfigIssue[]): CompiledRule[] {
  const seen = new Map<string, { file: string; index: number }>();
  const rules: CompiledRule[] = [];
  for (const { file, rules: fileRules } of parts) {
    for (const { rule, index } of fileRules) {
      const first = seen.get(rule.id);
      if (first === undefined) {
        seen.set(rule.id, { file, index });
        rules.push(rule);
        continue;
      }
      const where = first.file === file ? `rules[${first.index}] of this file` : `${first.file} (rules[${first.index}])`;
      issues.push({
        file,
        path: `rules[${index}].id`,
        message: `duplicate rule id "${rule.id}": also used in ${where}`,
        fix: 'rule ids must be unique across all policy files: rename one of them',
      });
    }
  }
  return rules;
}

type Settings<K extends 'servers' | 'groups'> = K extends 'servers' ? ServerParts : GroupPolicy;

/** Merges per-name settings across files; one key set by two files is an issue naming both. */
function mergeSettings<K extends 'servers' | 'groups'>(parts: FileParts[], kind: K, issues: ConfigIssue[]) {
  const values: Record<string, Settings<K>> = {};
  const files = new Map<string, string>(); // "<name>\0<key>" → the file that set it
  for (const part of parts) {
    for (const [name, settings] of Object.entries(part[kind]) as [string, Record<string, unknown>][]) {
      const merged = (values[name] ??= {} as Settings<K>) as Record<string, unknown>;
      for (const [key, value] of Object.entries(settings)) {
        const id = `${name}\0${key}`;
        const other = files.get(id);
        if (other === undefined) {
          files.set(id, part.file);
          merged[key] = value;
          continue;
        }
        issues.push({
          file: part.file,
          path: formatPath([kind, name, key]),
          message: `${kind}.${name}.${key} is also set in ${other}`,
          fix: `set each ${kind === 'servers' ? 'server' : 'group'} setting in one policy file only`,
        });
      }
    }
  }
  return { values, files };
}

function toServerPolicy(s: ServerParts): ServerPolicy {
  const policy: ServerPolicy = { readOnly: s.readOnly ?? false, trustAnnotations: s.trustAnnotations ?? false, rateLimit: s.rateLimit ?? [] };
  if (s.mode) policy.mode = s.mode;
  if (s.readOnlyTools) policy.readOnlyTools = s.readOnlyTools;
  return policy;
}

const exactly = (name: string): Matcher => ({ globs: [name], test: (v) => v === name });

/** `denyTools`/`allowTools` are rules with derived ids, so decisions and audit name them like any rule. */
function derivedRules(name: string, s: ServerParts, files: Map<string, string>): CompiledRule[] {
  const rules: CompiledRule[] = [];
  for (const [key, effect] of [
    ['denyTools', 'deny'],
    ['allowTools', 'allow'],
  ] as const) {
    const tools = s[key];
    if (!tools) continue;
    rules.push({
      id: `servers.${name}.${key}`,
      file: files.get(`${name}\0${key}`) ?? '',
      description: effect === 'deny' ? `server "${name}" does not offer this tool here (denyTools)` : `allowTools of server "${name}"`,
      effect,
      match: { servers: exactly(name), tools },
      scopes: [],
      rateLimit: [],
    });
  }
  return rules;
}
