/**
 * From a validated file to the `LoadedConfig` everything else receives:
 * defaults applied, paths made absolute (relative ones against the config
 * file's folder), entries turned into server specs (an `envFile`'s variables
 * below `env`; `disabled: true` → enabled false), and the warnings that are
 * not errors (skipped servers, settings that do not apply, near-miss keys).
 */
import { homedir } from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import { entryKeyWarnings } from './entries.js';
import { resolveProfiles } from './profiles.js';
import {
  GatewaySchema,
  ServerSettingsSchema,
  type GatewaySettings,
  type HttpServerSpec,
  type LoadedConfig,
  type ParsedConfigFile,
  type RemoteEntry,
  type ServerConfig,
  type ServerEntry,
  type ServerSettings,
  type ServerSpec,
  type SkippedServer,
  type StdioEntry,
  type StdioServerSpec,
} from './schema/index.js';

type ParsedGateway = z.output<typeof GatewaySchema>;

/** Where `switchboard login` keeps upstream tokens unless `gateway.stateDir` says otherwise. */
export const DEFAULT_STATE_DIR = '~/.switchboard';

/** What validation found that the parsed file does not carry. */
export interface ResolveHints {
  /** Each stdio server's variables from its `envFile`. */
  envFiles?: ReadonlyMap<string, Record<string, string>>;
  /** Servers whose gateway.servers.<name>.enabled is written `true` (wins over the entry's `disabled`). */
  enabled?: ReadonlySet<string>;
  /** The config file (absolute), handed to stdio children as SWITCHBOARD_PARENT_CONFIG; none for a pseudo-file. */
  gatewayConfig?: string;
}

/** `parsed` as loaded from `file`; `key` is where its servers are ("mcpServers" or VS Code's "servers"). */
export function resolveConfig(parsed: ParsedConfigFile, key: 'mcpServers' | 'servers', file: string, baseDir: string, hints: ResolveHints = {}): LoadedConfig {
  const gw = parsed.gateway ?? GatewaySchema.parse({});
  const stateDir = resolveStateDir(gw.stateDir ?? DEFAULT_STATE_DIR, baseDir);
  const gateway = toSettings(gw, baseDir, stateDir);
  const servers: ServerConfig[] = [];
  const skipped: SkippedServer[] = [];
  const warnings: string[] = [];
  for (const [name, entry] of Object.entries(parsed[key] ?? {})) {
    const spec = toSpec(entry, baseDir, { name, stateDir }, hints);
    warnings.push(...entryKeyWarnings(key, name, entry));
    if (spec.type !== 'stdio' && spec.url === '') {
      skipped.push({ name, reason: 'not configured: "url" is empty' });
      warnings.push(`server "${name}" is not configured ("url" is empty); skipped`);
      continue;
    }
    const own = gw.servers[name] ?? ServerSettingsSchema.parse({});
    // Claude Desktop's and Cline's "disabled": listed, state "disabled", never connected.
    const settings = entry.disabled === true && !hints.enabled?.has(name) ? { ...own, enabled: false } : own;
    warnings.push(...serverWarnings(name, spec, settings));
    servers.push(toServerConfig(name, spec, settings, gateway));
  }
  if (servers.length === 0 && skipped.length === 0) warnings.push('no servers are configured');
  return { file, servers, skipped, gateway, warnings };
}

/** Every gateway default, with paths resolved against `baseDir`. */
export function defaultGatewaySettings(baseDir: string): GatewaySettings {
  return toSettings(GatewaySchema.parse({}), baseDir, resolveStateDir(DEFAULT_STATE_DIR, baseDir));
}

function toServerConfig(name: string, spec: ServerSpec, s: ServerSettings, gateway: GatewaySettings): ServerConfig {
  const { mode, onNew, onChanged } = gateway.pinning;
  return {
    name,
    spec,
    prefix: s.prefix ?? name,
    timeoutMs: s.timeoutMs ?? gateway.requestTimeoutMs,
    enabled: s.enabled,
    isolation: s.isolation,
    maxProcesses: s.maxProcesses,
    trustAnnotations: s.trustAnnotations ?? false,
    pinning: { mode, onNew, onChanged, ...s.pinning },
    forwardMeta: s.forwardMeta ?? [],
    identityHeaders: s.identityHeaders ?? {},
    credentials: s.credentials,
    userOAuth: s.userOAuth,
    tokenExchange: s.tokenExchange,
    idJag: s.idJag,
  };
}

function toSettings(gw: ParsedGateway, baseDir: string, stateDir: string): GatewaySettings {
  const { servers: _perServer, stateDir: _stateDir, credentials, ...rest } = gw;
  const audit = {
    ...gw.audit,
    file: gw.audit.file === '-' ? '-' : path.resolve(baseDir, gw.audit.file),
    ...(gw.audit.signingKey ? { signingKey: path.resolve(baseDir, gw.audit.signingKey) } : {}),
  };
  return {
    ...rest,
    policies: gw.policies === false ? false : path.resolve(baseDir, gw.policies),
    audit,
    pinning: { ...gw.pinning, lock: path.resolve(baseDir, gw.pinning.lock) },
    validateArguments: gw.validateArguments ?? defaultValidation(gw.pinning.mode),
    profiles: resolveProfiles(gw.profiles, gw.path),
    ...(credentials ? { credentials: resolveCredentials(credentials, baseDir, stateDir) } : {}),
  };
}

/** Arguments are validated as strictly as contracts are pinned, unless said otherwise. */
function defaultValidation(mode: 'off' | 'warn' | 'enforce'): 'off' | 'warn' | 'enforce' {
  return mode;
}

/** The credential store's file, made absolute (default: <stateDir>/credentials.json). */
function resolveCredentials(c: NonNullable<ParsedGateway['credentials']>, baseDir: string, stateDir: string): NonNullable<GatewaySettings['credentials']> {
  if (c.store.type === 'redis') return { key: c.key, store: c.store };
  return { key: c.key, store: { type: 'file', path: c.store.path ? path.resolve(baseDir, c.store.path) : path.join(stateDir, 'credentials.json') } };
}

/** `gateway.stateDir`: "~" is the home folder, anything else is relative to the config file. */
function resolveStateDir(dir: string, baseDir: string): string {
  if (dir === '~' || dir.startsWith('~/')) return path.join(homedir(), dir.slice(1));
  return path.resolve(baseDir, dir);
}

function toSpec(entry: ServerEntry, baseDir: string, server: { name: string; stateDir: string }, hints: ResolveHints): ServerSpec {
  if (entry.type === 'stdio' || (entry.type === undefined && typeof entry.command === 'string')) {
    const e = entry as StdioEntry;
    const env = { ...hints.envFiles?.get(server.name), ...e.env };
    const spec: StdioServerSpec = { type: 'stdio', command: e.command, args: e.args, env };
    if (e.cwd !== undefined) spec.cwd = path.resolve(baseDir, e.cwd);
    // Not part of what was configured: left out of comparisons and JSON (see StdioServerSpec).
    if (hints.gatewayConfig !== undefined) Object.defineProperty(spec, 'gatewayConfig', { value: hints.gatewayConfig, enumerable: false });
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

/** Settings that are valid but do not do what the file seems to ask. */
function serverWarnings(name: string, spec: ServerSpec, settings: ServerSettings): string[] {
  const warnings: string[] = [];
  if (settings.isolation === 'session' && spec.type !== 'stdio') warnings.push(`server "${name}": isolation "session" applies to stdio servers only; ignored`);
  if (spec.type !== 'stdio' && spec.oauth) warnings.push(...oauthWarnings(name, spec));
  return warnings;
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
