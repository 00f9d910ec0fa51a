/**
 * `mcpServers` (or VS Code's `servers`): the entries as other MCP clients
 * write them, and the specs the gateway turns them into. Entries are loose
 * objects: keys other clients put there are tolerated.
 */
import { z } from 'zod';
import { UpstreamOAuthSchema, type UpstreamOAuthSpec } from './oauth.js';
import { NAME_RULE, SERVER_NAME_PATTERN, StringMap } from './primitives.js';

/** `type` values meaning Streamable HTTP. */
export const HTTP_TYPE_ALIASES = ['http', 'streamable-http', 'streamableHttp'] as const;
export const REMOTE_TYPES = [...HTTP_TYPE_ALIASES, 'sse'] as const;

const ServerName = z.string().regex(SERVER_NAME_PATTERN, { error: `a server name may contain only ${NAME_RULE}` });

export const StdioEntrySchema = z
  .looseObject({
    type: z.literal('stdio').optional(),
    command: z.string().min(1).describe('Executable to run, e.g. "node".'),
    args: z.array(z.string()).default([]),
    env: StringMap.default({}).describe('Extra environment for the child; ${VAR} references allowed.'),
    cwd: z.string().optional().describe('Working directory, relative to the config file.'),
    envFile: z
      .string()
      .min(1)
      .optional()
      .describe("A dotenv file (KEY=value lines) whose variables join the child's environment, as VS Code and Cursor read it; `env` wins."),
    disabled: z.boolean().optional().describe('true: the server is skipped (listed as disabled, never started), as Claude Desktop and Cline read it.'),
  })
  .describe('A stdio server: a child process speaking MCP on stdin/stdout.');

export const RemoteEntrySchema = z
  .looseObject({
    type: z.enum(REMOTE_TYPES).optional().describe('"http" (Streamable HTTP, the default when "url" is set) or "sse".'),
    url: z.string().describe('Endpoint URL. Empty means "not configured": the server is listed, skipped and warned about.'),
    headers: StringMap.default({}).describe('Sent with every request; use ${VAR} for secrets.'),
    disabled: z.boolean().optional().describe('true: the server is skipped (listed as disabled, never connected).'),
    oauth: UpstreamOAuthSchema.optional().describe(
      'OAuth to this server: { clientId, callbackPort } (see `switchboard login <server>`) or { grant: "client_credentials", clientId, clientSecret }.',
    ),
  })
  .describe('A remote server over Streamable HTTP or legacy HTTP+SSE.');

export const ServerEntrySchema = z.union([StdioEntrySchema, RemoteEntrySchema]);
export const ServersSchema = z.record(ServerName, ServerEntrySchema);

export type ServerEntry = z.output<typeof ServerEntrySchema>;
export type StdioEntry = z.output<typeof StdioEntrySchema>;
export type RemoteEntry = z.output<typeof RemoteEntrySchema>;

export type StdioServerSpec = {
  type: 'stdio';
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Absolute. */
  cwd?: string;
  /**
   * The config file of the gateway that spawns this child (absolute), passed
   * to it as SWITCHBOARD_PARENT_CONFIG. Non-enumerable: not part of what was
   * configured, so comparisons and JSON leave it out.
   */
  readonly gatewayConfig?: string;
};

export type HttpServerSpec = {
  type: 'http' | 'sse';
  url: string;
  headers: Record<string, string>;
  oauth?: UpstreamOAuthSpec;
};

export type ServerSpec = StdioServerSpec | HttpServerSpec;
