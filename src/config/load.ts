/**
 * Loading a configuration: read the file, substitute `${VAR}`s, validate,
 * then resolve it into a `LoadedConfig`. Every failure is a `ConfigError`
 * listing all issues found, each with the file, a JSON path and a fix.
 * The steps live beside this file: raw.ts (reading, syntax, substitution),
 * issues.ts (wording), cross-check.ts and profiles.ts (checks that span
 * keys), entries.ts (disabled, envFile, near-miss keys), resolve.ts
 * (defaults and absolute paths), self-launch.ts (a gateway never starts
 * itself); find.ts picks the file.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { crossCheck } from './cross-check.js';
import { explicitlyEnabled, readEntryExtras, workspaceFolderOf } from './entries.js';
import { describeValue, issueCollector, mapIssue } from './issues.js';
import { checkProfiles, expandIncludes } from './profiles.js';
import { readRawConfig, substituteEnv } from './raw.js';
import { resolveConfig, type ResolveHints } from './resolve.js';
import { ConfigFileSchema, type LoadedConfig, type ParsedConfigFile } from './schema/index.js';
import { refuseParentLoop, selfLaunchIssues } from './self-launch.js';

type Env = Record<string, string | undefined>;
type Obj = Record<string, unknown>;
type ServersKey = 'mcpServers' | 'servers';

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads `file` (YAML if it ends in .yaml/.yml, else JSON) and validates it.
 * Refuses a file that a gateway above this process runs on (SWITCHBOARD_PARENT_CONFIG in `env`).
 */
export function loadConfigFile(file: string, env: Env = process.env): LoadedConfig {
  const abs = path.resolve(file);
  refuseParentLoop(abs, env);
  return parseConfig(readRawConfig(abs), abs, env);
}

/**
 * Validates an already-parsed file. `file` is used in issues and to resolve
 * relative paths; pass a pseudo-name in angle brackets ('<inline>', '<bridge>')
 * for a config with no file: it is kept as is and paths resolve against
 * process.cwd(). A real file is also checked for entries that would start
 * a gateway on that same file (run from process.cwd()).
 */
export function parseConfig(raw: unknown, file: string, env: Env = process.env): LoadedConfig {
  const pseudo = /^<.*>$/.test(file);
  const abs = pseudo ? file : path.resolve(file);
  const baseDir = pseudo ? process.cwd() : path.dirname(abs);
  const { parsed, key, hints } = validate(raw, abs, baseDir, env);
  const config = resolveConfig(parsed, key, abs, baseDir, { ...hints, gatewayConfig: pseudo ? undefined : abs });
  const loops = pseudo ? [] : selfLaunchIssues(config, key, process.cwd());
  if (loops.length > 0) throw new ConfigError(loops);
  return config;
}

/** VS Code's "servers" when only it is present, else "mcpServers". */
const serversKey = (data: Obj): ServersKey => (data.mcpServers === undefined && data.servers !== undefined ? 'servers' : 'mcpServers');

/** Includes, substitution, the schema and the cross-key checks; throws every issue at once. */
function validate(raw: unknown, abs: string, baseDir: string, env: Env): { parsed: ParsedConfigFile; key: ServersKey; hints: ResolveHints } {
  const { issues, add } = issueCollector(abs);
  if (!isObj(raw)) {
    const message = `the top level must be an object, got ${describeValue(raw)}`;
    throw new ConfigError([{ file: abs, path: '', message, fix: 'write { "mcpServers": { … } }' }]);
  }
  // Included plugin files join before substitution, so their ${VAR}s are substituted too.
  const included = structuredClone(raw);
  expandIncludes(included, serversKey(included), baseDir, add);
  // The config file's own folder, so a file can name paths beside it wherever it is run from;
  // VS Code's predefined variables for a .vscode/mcp.json (${env:NAME} still reads the environment).
  const workspace = workspaceFolderOf(baseDir);
  const predefined = { workspaceFolder: workspace, workspaceFolderBasename: path.basename(workspace), userHome: homedir(), pathSeparator: path.sep };
  const data = substituteEnv(included, { ...env, SWITCHBOARD_CONFIG_DIR: baseDir }, add, predefined) as Obj;
  const key = serversKey(data);
  if (data.mcpServers === undefined && data.servers === undefined) add([], 'no "mcpServers" object', 'add an "mcpServers" object');
  if (data.mcpServers !== undefined && data.servers !== undefined)
    add(['servers'], 'both "mcpServers" and "servers" are present', 'move the entries of "servers" into "mcpServers"');
  const result = ConfigFileSchema.safeParse(data);
  if (!result.success) for (const issue of result.error.issues) mapIssue(issue, [], data, add);
  crossCheck(data, key, add);
  checkProfiles(data, key, add);
  const envFiles = readEntryExtras(data, key, workspace, add);
  if (issues.length > 0 || !result.success) throw new ConfigError(issues);
  return { parsed: result.data, key, hints: { envFiles, enabled: explicitlyEnabled(data) } };
}
