/**
 * The one way a command finds and loads its configuration: --config, then
 * $SWITCHBOARD_CONFIG, then the working directory's candidates (see
 * config/find.ts). No file at all is a configuration error (exit 1).
 */
import { findConfigFile } from '../config/find.js';
import { loadConfigFile } from '../config/load.js';
import type { LoadedConfig } from '../config/schema/index.js';
import { ConfigError } from '../core/errors.js';

const NO_FILE_FIX = 'pass --config FILE, set SWITCHBOARD_CONFIG, or create ./switchboard.json or ./.mcp.json';

/** `configFlag`: the value of --config, if given. */
export function loadConfigFromFlag(configFlag: string | undefined): LoadedConfig {
  const file = findConfigFile({ cwd: process.cwd(), env: process.env, explicit: configFlag });
  if (!file) throw new ConfigError([{ file: process.cwd(), path: '', message: 'no configuration file found', fix: NO_FILE_FIX }]);
  return loadConfigFile(file, process.env);
}
