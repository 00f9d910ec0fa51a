/** `switchboard bridge -- cmd args…`: one stdio server served as is, names unchanged, with no config file. */
import { parseConfig } from '../../config/load.js';
import type { LoadedConfig } from '../../config/schema/index.js';
import { ConfigError } from '../../core/errors.js';
import type { ParsedArgs } from '../args.js';
import { serve } from './serve.js';

export function bridgeCommand(args: ParsedArgs): Promise<number> {
  return serve(bridgeConfig(args), args);
}

function bridgeConfig(args: ParsedArgs): LoadedConfig {
  const [command, ...rest] = args.rest;
  if (!command) throw new ConfigError([{ file: '<bridge>', path: '', message: 'no command to bridge', fix: 'switchboard bridge -- <command> [args…]' }]);
  return parseConfig(
    // No config file, so no policy directory either: a policies/ folder in the working directory is not the bridge's.
    { mcpServers: { bridge: { command, args: rest } }, gateway: { servers: { bridge: { prefix: '' } }, policies: false } },
    '<bridge>',
    process.env,
  );
}
