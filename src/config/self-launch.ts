/**
 * The gateway never launches itself. A `.mcp.json` that lists Switchboard
 * (as Claude Code's project scope writes it) and is also the gateway's own
 * config would make every gateway start another, without end. Two guards:
 *
 * - at load: a stdio entry that runs Switchboard (its bin; `npx`, `bunx`,
 *   `pnpm dlx`, `npm exec` of the package; `node …/bin/switchboard.js`; also
 *   behind `sh -c`, `cmd /c` or `env`) with a config that resolves, as that
 *   CLI would resolve it, to the file being loaded is an error at the entry;
 * - at run time: every stdio child gets SWITCHBOARD_PARENT_CONFIG, the config
 *   files of the gateways above it (nearest first, joined by the path list
 *   delimiter); a gateway whose own config file is among them refuses to start.
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, type ConfigIssue } from '../core/errors.js';
import { CONFIG_CANDIDATES } from './find.js';
import { formatPath } from './issues.js';
import type { LoadedConfig } from './schema/index.js';
import { selfLaunchArgv } from './self-launch-argv.js';

type Env = Record<string, string | undefined>;

/** Set by a gateway on each stdio child: its own config file, then its ancestors'. */
export const PARENT_CONFIG_ENV = 'SWITCHBOARD_PARENT_CONFIG';

/** This installation's `bin/switchboard.js` (the same from src/config and dist/config). */
const OWN_BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));

const real = (file: string): string => {
  try {
    return realpathSync.native(file);
  } catch {
    return path.resolve(file);
  }
};
const isFile = (f: string): boolean => statSync(f, { throwIfNoEntry: false })?.isFile() ?? false;

/** The SWITCHBOARD_PARENT_CONFIG a child gets: `own` (absolute, if the gateway has a file) before `inherited`. */
export function childParentConfig(own: string | undefined, inherited: string | undefined): string | undefined {
  const chain = [own, ...(inherited ?? '').split(path.delimiter)].filter((p): p is string => p !== undefined && p !== '');
  return chain.length > 0 ? [...new Set(chain)].join(path.delimiter) : undefined;
}

/** Throws when `file` is the config of a gateway above this process (SWITCHBOARD_PARENT_CONFIG in `env`). */
export function refuseParentLoop(file: string, env: Env): void {
  const chain = (env[PARENT_CONFIG_ENV] ?? '').split(path.delimiter).filter((p) => p !== '');
  if (chain.length === 0) return;
  const self = real(file);
  const level = chain.findIndex((p) => real(p) === self);
  if (level < 0) return;
  const who = level === 0 ? 'the gateway that started this one' : `a gateway ${level + 1} levels above this one`;
  const message = `gateway loop: ${who} uses this same config file (${PARENT_CONFIG_ENV}), so this gateway would start itself again without end; refusing to start`;
  const fix = 'remove the server entry that runs Switchboard from this file, or give the nested gateway a config file of its own';
  throw new ConfigError([{ file, path: '', message, fix }]);
}

/**
 * The entries of `config` (loaded from a real file) that would start a
 * gateway on that same file. `cwd` is where the gateway runs: a child without
 * `cwd` of its own runs there.
 */
export function selfLaunchIssues(config: LoadedConfig, key: string, cwd: string): ConfigIssue[] {
  const self = real(config.file);
  const configDir = path.dirname(config.file);
  const issues: ConfigIssue[] = [];
  for (const server of config.servers) {
    const spec = server.spec;
    if (!server.enabled || spec.type !== 'stdio') continue;
    const childCwd = spec.cwd ?? cwd;
    const argv = selfLaunchArgv(spec.command, spec.args, childCwd, OWN_BIN);
    const target = argv && gatewayConfigArg(argv);
    if (!target) continue;
    const how = sameFile(target.config, spec.env, [childCwd, configDir], self);
    if (!how) continue;
    issues.push({
      file: config.file,
      path: formatPath([key, server.name]),
      message: `this entry starts Switchboard itself (${how}), so the gateway would start itself again without end`,
      fix: `remove "${server.name}" from this file, or give the gateway a config file of its own (without "${server.name}") and pass it with --config`,
    });
  }
  return issues;
}

/** Commands that start upstreams; `serve` is the default. */
const STARTS_UPSTREAMS = new Set(['serve', 'catalog', 'pin', 'scan']);

/** Switchboard's own argv → the config it names (`config` undefined: found by default), or undefined if it starts no upstreams. */
function gatewayConfigArg(argv: string[]): { config: string | undefined } | undefined {
  const word = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
  if (word !== undefined && !STARTS_UPSTREAMS.has(word)) return undefined;
  let config: string | undefined;
  for (let i = word === undefined ? 0 : 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (['--help', '-h', '--version', '-V'].includes(a)) return undefined;
    if (a === '--config') config = argv[++i];
    else if (a.startsWith('--config=')) config = a.slice('--config='.length);
  }
  return { config };
}

/** How the child's config lookup (see find.ts) reaches `self` from any of `dirs`, or undefined if it does not. */
function sameFile(named: string | undefined, env: Record<string, string>, dirs: string[], self: string): string | undefined {
  const byEnv = named === undefined && env.SWITCHBOARD_CONFIG ? env.SWITCHBOARD_CONFIG : undefined;
  const given = named ?? byEnv;
  if (given !== undefined) {
    if (!dirs.some((dir) => real(path.resolve(dir, given)) === self)) return undefined;
    return named !== undefined ? '--config names this file' : 'its SWITCHBOARD_CONFIG names this file';
  }
  for (const dir of new Set(dirs)) {
    const found = CONFIG_CANDIDATES.map((name) => path.join(dir, name)).find(isFile);
    if (found !== undefined && real(found) === self) return `without --config it finds this file in ${dir}`;
  }
  return undefined;
}
