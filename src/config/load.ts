/**
 * Loading a configuration: read the file, substitute `${VAR}`s, validate,
 * then resolve it into a `LoadedConfig`. Every failure is a `ConfigError`
 * listing all issues found, each with the file, a JSON path and a fix.
 * The steps live beside this file: raw.ts (reading, syntax, substitution),
 * issues.ts (wording), cross-check.ts and profiles.ts (checks that span
 * keys), resolve.ts (defaults and absolute paths); find.ts picks the file.
 */
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { crossCheck } from './cross-check.js';
import { describeValue, issueCollector, mapIssue } from './issues.js';
import { checkProfiles, expandIncludes } from './profiles.js';
import { readRawConfig, substituteEnv } from './raw.js';
import { resolveConfig } from './resolve.js';
import { ConfigFileSchema, type LoadedConfig, type ParsedConfigFile } from './schema/index.js';

type Env = Record<string, string | undefined>;
type Obj = Record<string, unknown>;
type ServersKey = 'mcpServers' | 'servers';

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads `file` (YAML if it ends in .yaml/.yml, else JSON) and validates it. */
export function loadConfigFile(file: string, env: Env = process.env): LoadedConfig {
  const abs = path.resolve(file);
  return parseConfig(readRawConfig(abs), abs, env);
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
  const { parsed, key } = validate(raw, abs, baseDir, env);
  return resolveConfig(parsed, key, abs, baseDir);
}

/** VS Code's "servers" when only it is present, else "mcpServers". */
const serversKey = (data: Obj): ServersKey => (data.mcpServers === undefined && data.servers !== undefined ? 'servers' : 'mcpServers');

/** Includes, substitution, the schema and the cross-key checks; throws every issue at once. */
function validate(raw: unknown, abs: string, baseDir: string, env: Env): { parsed: ParsedConfigFile; key: ServersKey } {
  const { issues, add } = issueCollector(abs);
  if (!isObj(raw)) {
    const message = `the top level must be an object, got ${describeValue(raw)}`;
    throw new ConfigError([{ file: abs, path: '', message, fix: 'write { "mcpServers": { … } }' }]);
  }
  // Included plugin files join before substitution, so their ${VAR}s are substituted too.
  const included = structuredClone(raw);
  expandIncludes(included, serversKey(included), baseDir, add);
  // The config file's own folder, so a file can name paths beside it wherever it is run from.
  const data = substituteEnv(included, { ...env, SWITCHBOARD_CONFIG_DIR: baseDir }, add) as Obj;
  const key = serversKey(data);
  if (data.mcpServers === undefined && data.servers === undefined) add([], 'no "mcpServers" object', 'add an "mcpServers" object');
  if (data.mcpServers !== undefined && data.servers !== undefined)
    add(['servers'], 'both "mcpServers" and "servers" are present', 'move the entries of "servers" into "mcpServers"');
  const result = ConfigFileSchema.safeParse(data);
  if (!result.success) for (const issue of result.error.issues) mapIssue(issue, [], data, add);
  crossCheck(data, key, add);
  checkProfiles(data, key, add);
  if (issues.length > 0 || !result.success) throw new ConfigError(issues);
  return { parsed: result.data, key };
}
