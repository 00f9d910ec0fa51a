/**
 * Finding, reading, substituting and validating a configuration file. Every
 * failure is a `ConfigError` listing all issues found, each with the file, a
 * JSON path and a fix.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../core/errors.js';
import { checkProfiles, expandIncludes, resolveProfiles } from './profiles.js';
import { parseJsonText, parseYamlText, substituteEnv, type Report } from './raw.js';
import {
  ConfigFileSchema,
  GatewaySchema,
  REMOTE_TYPES,
  SEPARATOR_PATTERN,
  SERVER_NAME_PATTERN,
  ServerSettingsSchema,
  closestKey,
  knownKeysAt,
  type GatewaySettings,
  type HttpServerSpec,
  type LoadedConfig,
  type RemoteEntry,
  type ServerConfig,
  type ServerEntry,
  type ServerSpec,
  type SkippedServer,
  type StdioEntry,
} from './schema.js';

type Env = Record<string, string | undefined>;
type Seg = PropertyKey;
type Obj = Record<string, unknown>;

/** Looked up in the working directory, in this order, when no file is named. */
export const CONFIG_CANDIDATES = ['switchboard.json', 'switchboard.yaml', 'switchboard.yml', '.mcp.json'] as const;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFile = (f: string): boolean => statSync(f, { throwIfNoEntry: false })?.isFile() ?? false;

/** `mcpServers.github.headers.Authorization`, `mcpServers["weird.key"]`, `args[0]`. */
export function formatPath(segs: readonly Seg[]): string {
  let out = '';
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'string' && /^[A-Za-z0-9_$-]+$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out;
}

/**
 * The config file to use: `explicit` (--config), else `env.SWITCHBOARD_CONFIG`,
 * else the first of CONFIG_CANDIDATES in `cwd`; undefined if none. A named file
 * that does not exist is a ConfigError.
 */
export function findConfigFile(opts: { cwd: string; env: Env; explicit?: string }): string | undefined {
  const named = opts.explicit ?? (opts.env.SWITCHBOARD_CONFIG || undefined);
  if (named !== undefined) {
    const file = path.resolve(opts.cwd, named);
    if (isFile(file)) return file;
    const how = opts.explicit !== undefined ? '--config' : 'SWITCHBOARD_CONFIG';
    const message = `config file not found (named by ${how})`;
    throw new ConfigError([{ file, path: '', message, fix: `check the path given in ${how}` }]);
  }
  for (const name of CONFIG_CANDIDATES) {
    const file = path.join(opts.cwd, name);
    if (isFile(file)) return file;
  }
  return undefined;
}

/** Reads `file` (YAML if it ends in .yaml/.yml, else JSON) and validates it. */
export function loadConfigFile(file: string, env: Env = process.env): LoadedConfig {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const message = `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    throw new ConfigError([{ file: abs, path: '', message, fix: 'check the path and its permissions' }]);
  }
  const raw = /\.ya?ml$/i.test(abs) ? parseYamlText(text, abs) : parseJsonText(text, abs);
  return parseConfig(raw, abs, env);
}

/**
 * Validates an already-parsed file. `file` is used in issues and to resolve
 * relative paths; pass a pseudo-name in angle brackets ('<inline>', '<bridge>')
 * for a config with no file: it is kept as is and paths resolve against
 * process.cwd().
 */
export function parseConfig(raw: unknown, file: string, env: Env = process.env): LoadedConfig {
  const pseudo = /^<.*>$/.test(file);
  const abs = pseudo ? file : path.resolve(file);
  const baseDir = pseudo ? process.cwd() : path.dirname(abs);
  const issues: ConfigIssue[] = [];
  const add: Report = (segs, message, fix) => {
    const p = formatPath(segs);
    if (!issues.some((i) => i.path === p && i.message === message)) issues.push({ file: abs, path: p, message, fix });
  };
  if (!isObj(raw)) {
    const message = `the top level must be an object, got ${describe(raw)}`;
    throw new ConfigError([{ file: abs, path: '', message, fix: 'write { "mcpServers": { … } }' }]);
  }
  // Included plugin files join before substitution, so their ${VAR}s are substituted too.
  const included = structuredClone(raw);
  expandIncludes(included, included.mcpServers === undefined && included.servers !== undefined ? 'servers' : 'mcpServers', baseDir, add);
  // The config file's own folder, so a file can name paths beside it wherever it is run from.
  const data = substituteEnv(included, { ...env, SWITCHBOARD_CONFIG_DIR: baseDir }, add) as Obj;
  const key = data.mcpServers === undefined && data.servers !== undefined ? 'servers' : 'mcpServers';
  if (data.mcpServers === undefined && data.servers === undefined)
    add([], 'no "mcpServers" object', 'add an "mcpServers" object');
  if (data.mcpServers !== undefined && data.servers !== undefined)
    add(['servers'], 'both "mcpServers" and "servers" are present', 'move the entries of "servers" into "mcpServers"');
  const result = ConfigFileSchema.safeParse(data);
  if (!result.success) for (const issue of result.error.issues) mapIssue(issue, [], data, add);
  crossCheck(data, key, add);
  checkProfiles(data, key, add);
  if (issues.length > 0 || !result.success) throw new ConfigError(issues);

  const gw = result.data.gateway ?? GatewaySchema.parse({});
  const stateDir = resolveStateDir(gw.stateDir ?? DEFAULT_STATE_DIR, baseDir);
  const gateway = toSettings(gw, baseDir, stateDir);
  const servers: ServerConfig[] = [];
  const skipped: SkippedServer[] = [];
  const warnings: string[] = [];
  for (const [name, entry] of Object.entries(result.data[key] ?? {})) {
    const spec = toSpec(entry, baseDir, { name, stateDir });
    if (spec.type !== 'stdio' && spec.url === '') {
      skipped.push({ name, reason: 'not configured: "url" is empty' });
      warnings.push(`server "${name}" is not configured ("url" is empty); skipped`);
      continue;
    }
    const s = gw.servers[name] ?? ServerSettingsSchema.parse({});
    if (s.isolation === 'session' && spec.type !== 'stdio')
      warnings.push(`server "${name}": isolation "session" applies to stdio servers only; ignored`);
    if (spec.type !== 'stdio' && spec.oauth) warnings.push(...oauthWarnings(name, spec));
    servers.push({
      name,
      spec,
      prefix: s.prefix ?? name,
      timeoutMs: s.timeoutMs ?? gateway.requestTimeoutMs,
      enabled: s.enabled,
      isolation: s.isolation,
      maxProcesses: s.maxProcesses,
      trustAnnotations: s.trustAnnotations ?? false,
      forwardMeta: s.forwardMeta ?? [],
      identityHeaders: s.identityHeaders ?? {},
      credentials: s.credentials,
      userOAuth: s.userOAuth,
      tokenExchange: s.tokenExchange,
    });
  }
  if (servers.length === 0 && skipped.length === 0) warnings.push('no servers are configured');
  return { file: abs, servers, skipped, gateway, warnings };
}

/** Every gateway default, with paths resolved against `baseDir`. */
export function defaultGatewaySettings(baseDir: string): GatewaySettings {
  return toSettings(GatewaySchema.parse({}), baseDir, resolveStateDir(DEFAULT_STATE_DIR, baseDir));
}

function toSettings(gw: z.output<typeof GatewaySchema>, baseDir: string, stateDir: string): GatewaySettings {
  const { servers: _perServer, stateDir: _stateDir, credentials, ...rest } = gw;
  const audit = { ...gw.audit, file: gw.audit.file === '-' ? '-' : path.resolve(baseDir, gw.audit.file) };
  return {
    ...rest,
    policies: gw.policies === false ? false : path.resolve(baseDir, gw.policies),
    audit,
    profiles: resolveProfiles(gw.profiles, gw.path),
    ...(credentials ? { credentials: resolveCredentials(credentials, baseDir, stateDir) } : {}),
  };
}

/** The credential store's file, made absolute (default: <stateDir>/credentials.json). */
function resolveCredentials(c: NonNullable<z.output<typeof GatewaySchema>['credentials']>, baseDir: string, stateDir: string): NonNullable<GatewaySettings['credentials']> {
  if (c.store.type === 'redis') return { key: c.key, store: c.store };
  return { key: c.key, store: { type: 'file', path: c.store.path ? path.resolve(baseDir, c.store.path) : path.join(stateDir, 'credentials.json') } };
}

/** Where `switchboard login` keeps upstream tokens unless `gateway.stateDir` says otherwise. */
export const DEFAULT_STATE_DIR = '~/.switchboard';

/** `gateway.stateDir`: "~" is the home folder, anything else is relative to the config file. */
function resolveStateDir(dir: string, baseDir: string): string {
  if (dir === '~' || dir.startsWith('~/')) return path.join(homedir(), dir.slice(1));
  return path.resolve(baseDir, dir);
}

function toSpec(entry: ServerEntry, baseDir: string, server: { name: string; stateDir: string }): ServerSpec {
  if (entry.type === 'stdio' || (entry.type === undefined && typeof entry.command === 'string')) {
    const e = entry as StdioEntry;
    const spec: ServerSpec = { type: 'stdio', command: e.command, args: e.args, env: e.env };
    if (e.cwd !== undefined) spec.cwd = path.resolve(baseDir, e.cwd);
    return spec;
  }
  const e = entry as RemoteEntry;
  const spec: HttpServerSpec = { type: e.type === 'sse' ? 'sse' : 'http', url: e.url, headers: e.headers };
  if (e.oauth?.grant === 'client_credentials') spec.oauth = { ...e.oauth, grant: 'client_credentials' };
  else if (e.oauth) {
    const tokenFile = path.join(server.stateDir, 'tokens', `${server.name}.json`);
    spec.oauth = { ...e.oauth, grant: 'authorization_code', tokenFile };
  }
  return spec;
}

function oauthWarnings(name: string, spec: HttpServerSpec): string[] {
  const warnings: string[] = [];
  if (Object.keys(spec.headers).some((h) => h.toLowerCase() === 'authorization'))
    warnings.push(`server "${name}": its "Authorization" header is replaced by the OAuth token ("oauth" is set)`);
  const oauth = spec.oauth;
  if (oauth?.grant === 'client_credentials' && oauth.tokenEndpoint === undefined && oauth.authServerMetadataUrl === undefined)
    warnings.push(
      `server "${name}": its client secret goes to whichever authorization server the upstream names; set oauth.tokenEndpoint or oauth.authServerMetadataUrl to pin it`,
    );
  return warnings;
}

function valueAt(data: unknown, segs: readonly Seg[]): unknown {
  let v = data;
  for (const s of segs) v = isObj(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[s] : undefined;
  return v;
}

/** Numbers and booleans are shown; strings are not (they may hold substituted secrets). */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : `a ${typeof v}`;
}

const TYPE_NAMES: Record<string, string> = { record: 'object', int: 'integer' };
const didYouMean = (guess: string | undefined, otherwise: string) => (guess ? `did you mean "${guess}"?` : otherwise);

/** Turns one zod issue into readable issues; `base` prefixes paths of nested (union) issues. */
function mapIssue(issue: z.core.$ZodIssue, base: readonly Seg[], data: unknown, add: Report): void {
  const segs = [...base, ...issue.path];
  const last = String(segs[segs.length - 1] ?? '');
  const inServers = segs.length === 2 && (segs[0] === 'mcpServers' || segs[0] === 'servers');
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(segs, undefined, data) ?? [];
      const list = `remove it (known keys: ${known.join(', ')})`;
      for (const k of issue.keys) add([...segs, k], `unknown key "${k}"`, didYouMean(closestKey(k, known), list));
      return;
    }
    case 'invalid_union':
      if (inServers) return serverEntryIssue(issue, segs, data, add);
      if (issue.discriminator !== undefined && issue.errors.length === 0) return badDiscriminator(issue, segs, data, add);
      break;
    case 'invalid_key':
      if (!inServers) break;
      return add(
        segs,
        `invalid server name "${last}": use letters, digits, "_" and "-", starting with a letter or digit`,
        `rename it, e.g. to "${last.replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[_-]+/, '') || 'server'}"`,
      );
    case 'invalid_type': {
      const value = valueAt(data, segs);
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (value === undefined) return add(segs, `"${last}" is required`, `add "${last}" (${expected})`);
      const article = /^[aeiou]/.test(expected) ? 'an' : 'a';
      return add(segs, `expected ${expected}, got ${describe(value)}`, `write ${article} ${expected}`);
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v)).join(', ');
      const guess = closestKey(String(valueAt(data, segs)), issue.values.map(String));
      return add(segs, `must be one of ${options}`, didYouMean(guess, `use one of ${options}`));
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = String(small ? issue.minimum : issue.maximum);
      if (issue.origin === 'string' && small && bound === '1')
        return add(segs, 'must not be empty', `give "${last}" a value`);
      if (issue.origin !== 'number' && issue.origin !== 'int') break;
      const op = `${small ? '>' : '<'}${issue.inclusive ? '=' : ''}`;
      return add(segs, `must be ${op} ${bound}`, `use a ${small ? 'larger' : 'smaller'} number`);
    }
    case 'custom':
      // A refinement may name its own fix.
      if (typeof issue.params?.fix === 'string') return add(segs, issue.message, issue.params.fix);
      break;
    case 'invalid_format': {
      let fix = `fix "${last}"`;
      if (last === 'path') fix = 'start it with "/", e.g. "/mcp"';
      else if (last === 'separator') fix = 'use e.g. "__" or "."';
      else if (last === 'prefix') fix = 'rename the prefix';
      return add(segs, issue.message.replace(/^Invalid string: /, ''), fix);
    }
  }
  add(segs, issue.message, 'see schema/switchboard.schema.json');
}

/** A discriminated union (e.g. `oauth.grant`) got a tag none of its options has. */
function badDiscriminator(issue: z.core.$ZodIssueInvalidUnion, segs: readonly Seg[], data: unknown, add: Report): void {
  const values = ('options' in issue ? (issue.options ?? []) : []).filter((v) => v !== undefined && v !== null).map(String);
  const options = values.map((v) => JSON.stringify(v)).join(', ');
  const guess = closestKey(String(valueAt(data, segs)), values);
  add(segs, `must be one of ${options}`, didYouMean(guess, `use one of ${options}`));
}

/** A server entry matched neither branch: work out which one was meant, and report that branch's issues. */
function serverEntryIssue(issue: z.core.$ZodIssueInvalidUnion, segs: readonly Seg[], data: unknown, add: Report): void {
  const entry = valueAt(data, segs);
  if (!isObj(entry)) {
    const fix = 'write { "command": … } or { "url": … }';
    return add(segs, `a server entry must be an object, got ${describe(entry)}`, fix);
  }
  const type = entry.type;
  const remote = (REMOTE_TYPES as readonly unknown[]).includes(type);
  if (type !== undefined && type !== 'stdio' && !remote) {
    const fix = didYouMean(closestKey(String(type), ['stdio', 'http', 'sse']), 'use "stdio", "http" or "sse"');
    return add([...segs, 'type'], `unknown server type ${JSON.stringify(type)}`, fix);
  }
  let branch: number;
  if (type === 'stdio' || (type === undefined && entry.command !== undefined)) branch = 0;
  else if (remote || entry.url !== undefined) branch = 1;
  else {
    const fix = 'add "command" for a local server or "url" for a remote one';
    return add(segs, 'a server needs either "command" (stdio) or "url" (http/sse)', fix);
  }
  for (const sub of issue.errors[branch] ?? []) mapIssue(sub, segs, data, add);
}

/** True unless the first `sep` in `name + sep` is the one appended, i.e. `<name><sep><tool>` splits right. */
function splitsBadly(name: string, sep: string): boolean {
  return (name + sep).indexOf(sep) !== name.length;
}

/**
 * Checks that span several keys: names and prefixes vs the separator, duplicate
 * prefixes, gateway.servers vs mcpServers, timeouts. Runs on the raw data even
 * when zod found issues (so that all issues are reported at once); it skips
 * values zod already reports.
 */
/** A server's `credentials` needs its parts: an HTTP upstream, a key to encrypt users' tokens, a token to exchange. */
function checkCredentials(entry: Obj, own: Obj, gw: Obj, at: string[], add: Report): void {
  const kind = own.credentials;
  if (kind !== 'user-oauth' && kind !== 'token-exchange') return;
  const remote = entry.url !== undefined || entry.type === 'http' || entry.type === 'sse' || entry.type === 'streamable-http';
  if (!remote) add(at, `credentials "${kind}" applies to HTTP upstreams only`, 'remove it, or point the server at a "url"');
  if (kind === 'user-oauth' && !isObj(gw.credentials))
    add(at, 'credentials "user-oauth" needs gateway.credentials (where users\' tokens are kept, encrypted)', 'add "gateway": { "credentials": { "key": "${SWITCHBOARD_CREDENTIALS_KEY}" } }');
  if (kind === 'token-exchange') {
    if (!isObj(own.tokenExchange)) add(at, 'credentials "token-exchange" needs "tokenExchange" { tokenEndpoint, clientId, clientSecret }', 'add "tokenExchange" beside it');
    const auth = isObj(gw.auth) ? gw.auth : {};
    if (!isObj(auth.jwt)) add(at, 'credentials "token-exchange" exchanges the caller\'s bearer token, so callers must sign in with JWTs', 'configure gateway.auth.jwt');
  }
}

function crossCheck(data: Obj, key: 'mcpServers' | 'servers', add: Report): void {
  const servers = isObj(data[key]) ? (data[key] as Obj) : {};
  const gw = isObj(data.gateway) ? data.gateway : {};
  const settings = isObj(gw.servers) ? gw.servers : {};
  const rawSep = gw.separator ?? '__';
  const sep = typeof rawSep === 'string' && SEPARATOR_PATTERN.test(rawSep) ? rawSep : undefined;
  const max = typeof gw.maxRequestTimeoutMs === 'number' ? gw.maxRequestTimeoutMs : 600000;
  const raiseMax = 'lower it or raise gateway.maxRequestTimeoutMs';

  for (const name of Object.keys(settings)) {
    if (name in servers) continue;
    const fix = didYouMean(closestKey(name, Object.keys(servers)), `add "${name}" to "${key}" or remove this entry`);
    add(['gateway', 'servers', name], `no server named "${name}" in "${key}"`, fix);
  }
  const owners = new Map<string, string>();
  for (const [name, entry] of Object.entries(servers)) {
    if (!isObj(entry)) continue;
    const own = isObj(settings[name]) ? settings[name] : {};
    const ownPath = ['gateway', 'servers', name];
    if (entry.type === undefined && entry.command !== undefined && entry.url !== undefined)
      add([key, name], 'has both "command" and "url"', 'keep one of them, or set "type"');
    if (sep !== undefined && SERVER_NAME_PATTERN.test(name) && splitsBadly(name, sep))
      add(
        [key, name],
        `server name "${name}" clashes with the separator "${sep}": "${name}${sep}tool" would not split unambiguously`,
        'rename the server, or choose another "gateway.separator"',
      );
    checkCredentials(entry, own, gw, [...ownPath, 'credentials'], add);
    const prefix = own.prefix ?? name;
    const validPrefix = typeof prefix === 'string' && (prefix === '' || SERVER_NAME_PATTERN.test(prefix));
    if (sep !== undefined && own.prefix !== undefined && validPrefix && prefix !== '' && splitsBadly(prefix, sep))
      add([...ownPath, 'prefix'], `prefix "${prefix}" clashes with the separator "${sep}"`, 'choose another prefix');
    if (typeof own.timeoutMs === 'number' && own.timeoutMs > max)
      add([...ownPath, 'timeoutMs'], `exceeds gateway.maxRequestTimeoutMs (${max})`, raiseMax);

    const skipped = entry.url === '' && entry.command === undefined;
    if (!validPrefix || prefix === '' || skipped) continue;
    // Case-insensitive: a resource URI's prefix is part of its scheme.
    const other = owners.get(prefix.toLowerCase());
    if (other === undefined) owners.set(prefix.toLowerCase(), name);
    else
      add(
        own.prefix === undefined ? [key, name] : [...ownPath, 'prefix'],
        `servers "${other}" and "${name}" have the same prefix "${prefix}"`,
        'give one of them another "prefix" in gateway.servers',
      );
  }
  if (typeof gw.requestTimeoutMs === 'number' && gw.requestTimeoutMs > max)
    add(['gateway', 'requestTimeoutMs'], `exceeds gateway.maxRequestTimeoutMs (${max})`, raiseMax);
}
