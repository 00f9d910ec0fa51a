/**
 * The whole file: servers (under either key) beside the optional `gateway`
 * key, its JSON Schema for editors, and what loading it yields.
 */
import { z } from 'zod';
import { GatewaySchema, type GatewaySettings } from './gateway.js';
import type { ServerConfig } from './server-settings.js';
import { ServersSchema } from './servers.js';

/** The whole file. */
export const ConfigFileSchema = z
  .looseObject({
    mcpServers: ServersSchema.optional().describe('MCP servers, as in .mcp.json / claude_desktop_config.json.'),
    servers: ServersSchema.optional().describe('VS Code\'s name for "mcpServers" (use one of the two).'),
    gateway: GatewaySchema.optional(),
  })
  .describe('Switchboard configuration: an .mcp.json file plus an optional "gateway" key.');

/** The JSON Schema for editors, exactly as committed in `schema/switchboard.schema.json`. */
export function configJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(ConfigFileSchema, { io: 'input', target: 'draft-2020-12' });
  return { $schema, title: 'Switchboard configuration', ...rest };
}

export type ConfigFile = z.input<typeof ConfigFileSchema>;
export type ParsedConfigFile = z.output<typeof ConfigFileSchema>;

export interface SkippedServer {
  name: string;
  reason: string;
}

export interface LoadedConfig {
  /** Absolute path, or '<inline>'. */
  file: string;
  /** Enabled and disabled, in file order; skipped ones are not here. */
  servers: ServerConfig[];
  skipped: SkippedServer[];
  gateway: GatewaySettings;
  warnings: string[];
}
