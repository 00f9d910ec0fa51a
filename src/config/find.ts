/**
 * Which config file to use when none is passed in code: the one named on the
 * command line, else by SWITCHBOARD_CONFIG, else the first candidate in the
 * working directory.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';

type Env = Record<string, string | undefined>;

/** Looked up in the working directory, in this order, when no file is named. */
export const CONFIG_CANDIDATES = ['switchboard.json', 'switchboard.yaml', 'switchboard.yml', '.mcp.json'] as const;

const isFile = (f: string): boolean => statSync(f, { throwIfNoEntry: false })?.isFile() ?? false;

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
