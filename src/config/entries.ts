/**
 * What a server entry carries besides its transport: `disabled` (Claude
 * Desktop, Cline), `envFile` (VS Code, Cursor), and the keys nobody reads.
 * Keys other clients use are accepted silently; an unknown key that is a near
 * miss of one Switchboard reads (or a gateway setting put in the entry) gets a
 * "did you mean" warning, never an error: the file is also another client's.
 */
import path from 'node:path';
import { readEnvFile } from './env-file.js';
import { describeValue, formatPath, type Report } from './issues.js';
import { RemoteEntrySchema, ServerSettingsSchema, StdioEntrySchema, closestKey } from './schema/index.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Entry keys Switchboard reads. */
export const ENTRY_KEYS = [...new Set([...Object.keys(StdioEntrySchema.shape), ...Object.keys(RemoteEntrySchema.shape)])];
/** Switchboard's own per-server settings: they belong under gateway.servers.<name>. */
const SETTINGS_KEYS = Object.keys(ServerSettingsSchema.shape);

/** Keys other MCP clients read in a server entry: accepted silently. */
export const OTHER_CLIENT_KEYS = new Set([
  // Claude Code
  'headersHelper',
  // Cline, Roo Code
  'autoApprove',
  'alwaysAllow',
  'timeout',
  'transportType',
  'disabledTools',
  'watchPaths',
  // Cursor, Windsurf
  'auth',
  'serverUrl',
  // VS Code
  'dev',
  'gallery',
  'version',
  'sandbox',
  'sandboxEnabled',
  // Gemini CLI
  'httpUrl',
  'trust',
  'description',
  'includeTools',
  'excludeTools',
  'authProviderType',
  'targetAudience',
  'targetServiceAccount',
  'extensionName',
  // Others (LM Studio, LibreChat, Amazon Q, registries)
  'name',
  'title',
  'icon',
  'iconPath',
  'source',
  'transport',
  'initTimeout',
  'serverInstructions',
  // Notes people leave in JSON (a "comment" is not a misspelt "command").
  'comment',
  '_comment',
  'notes',
]);

/** Words people write for keys Switchboard spells otherwise. */
const ALIASES: Record<string, string> = {
  environment: 'env',
  environ: 'env',
  envVars: 'env',
  env_vars: 'env',
  arguments: 'args',
  argv: 'args',
  workingDirectory: 'cwd',
  working_directory: 'cwd',
  workdir: 'cwd',
  endpoint: 'url',
  env_file: 'envFile',
  cmd: 'command',
};

/** Did-you-mean warnings for the unknown keys of one entry (`key` is "mcpServers" or "servers"). */
export function entryKeyWarnings(key: string, name: string, entry: Obj): string[] {
  const warnings: string[] = [];
  for (const k of Object.keys(entry)) {
    if (ENTRY_KEYS.includes(k) || OTHER_CLIENT_KEYS.has(k)) continue;
    const at = formatPath([key, name, k]);
    const guess = closestKey(k, [...ENTRY_KEYS, ...SETTINGS_KEYS, ...Object.keys(ALIASES)]);
    const meant = guess === undefined ? undefined : (ALIASES[guess] ?? guess);
    if (meant === undefined) continue;
    if (SETTINGS_KEYS.includes(meant)) {
      const to = formatPath(['gateway', 'servers', name, meant]);
      const hint = meant === 'enabled' ? `; to skip this server write "disabled": true, or set ${to}` : `; move it to ${to}`;
      warnings.push(`${at}: "${k}" is a gateway setting, not read in a server entry${hint}`);
    } else warnings.push(`${at}: unknown key "${k}" is ignored; did you mean "${meant}"?`);
  }
  if (entry.envFile !== undefined && entry.command === undefined)
    warnings.push(`${formatPath([key, name, 'envFile'])}: applies to stdio servers only; ignored`);
  return warnings;
}

/**
 * Checks `disabled` on every entry and reads the env file of
 * each stdio server that will run (relative to `workspaceDir`): a disabled
 * server's file need not exist. Returns each server's variables from it.
 */
export function readEntryExtras(data: Obj, key: 'mcpServers' | 'servers', workspaceDir: string, add: Report): Map<string, Record<string, string>> {
  const envFiles = new Map<string, Record<string, string>>();
  const servers = data[key];
  if (!isObj(servers)) return envFiles;
  const settings = isObj(data.gateway) && isObj(data.gateway.servers) ? data.gateway.servers : {};
  for (const [name, entry] of Object.entries(servers)) {
    if (!isObj(entry)) continue;
    if (entry.disabled !== undefined && typeof entry.disabled !== 'boolean')
      add([key, name, 'disabled'], `expected boolean, got ${describeValue(entry.disabled)}`, 'write true (skip this server) or false');
    const file = entry.envFile;
    // Its type is the schema's to report (StdioEntrySchema): a file that is not a path is not read.
    if (typeof file !== 'string' || file === '') continue;
    const own = isObj(settings[name]) ? settings[name] : {};
    if (entry.command === undefined || own.enabled === false || (entry.disabled === true && own.enabled !== true)) continue;
    const read = readEnvFile(path.resolve(workspaceDir, file));
    if ('error' in read) add([key, name, 'envFile'], read.error, `create the file or fix the path (relative paths start at ${workspaceDir})`);
    else envFiles.set(name, read.env);
  }
  return envFiles;
}

/** Servers whose gateway.servers.<name>.enabled is written `true`: that wins over the entry's `disabled`. */
export function explicitlyEnabled(data: Obj): Set<string> {
  const gw = isObj(data.gateway) ? data.gateway : {};
  const settings = isObj(gw.servers) ? gw.servers : {};
  return new Set(Object.entries(settings).flatMap(([name, s]) => (isObj(s) && s.enabled === true ? [name] : [])));
}

/**
 * The folder `${workspaceFolder}` and `envFile` start from: the parent of a
 * `.vscode` folder the config file is in (VS Code's `.vscode/mcp.json`), else
 * the config file's own folder.
 */
export function workspaceFolderOf(configDir: string): string {
  return path.basename(configDir) === '.vscode' ? path.dirname(configDir) : configDir;
}
