/**
 * `switchboard bridge -- cmd args…`: one stdio server served as is, names
 * unchanged, with no config file, on port 8081 unless told (serve's default
 * is 8080, so the two run side by side). It ends (exit 1) naming the command
 * and the cause when the command cannot start.
 */
import { parseConfig } from '../../config/load.js';
import type { LoadedConfig } from '../../config/schema/index.js';
import { UsageError, type ParsedArgs } from '../args.js';
import { serve } from './serve.js';

/** bridge's port when --port is not given. */
export const BRIDGE_PORT = 8081;

export function bridgeCommand(args: ParsedArgs): Promise<number> {
  const config = bridgeConfig(args.rest);
  return serve(config, args, { bridged: { server: 'bridge', command: args.rest.map(quote).join(' ') } });
}

export function bridgeConfig(commandLine: readonly string[]): LoadedConfig {
  const [command, ...rest] = commandLine;
  if (!command) throw new UsageError('no command to bridge (put it after --)', 'bridge');
  return parseConfig(
    {
      mcpServers: { bridge: { command, args: rest } },
      // No config file, so no policy directory either: a policies/ folder in the working directory is not the bridge's.
      gateway: { listen: { port: BRIDGE_PORT }, servers: { bridge: { prefix: '' } }, policies: false },
    },
    '<bridge>',
    process.env,
  );
}

function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
