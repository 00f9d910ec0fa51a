/**
 * `gateway`: Switchboard's own settings, ignored by other MCP clients. A
 * strict object: a typo here must be caught, not silently ignored.
 */
import { z } from 'zod';
import type { AuditSettings } from '../../observability/audit.js';
import { ApprovalsSchema, type ApprovalsSettings } from './approvals.js';
import { ConsoleSchema, type ConsoleSettings } from './console.js';
import { PinningSchema, ScanSchema, ValidateArgumentsSchema, type ContractSettings } from './contracts.js';
import { AuthSchema, PrincipalSchema, type AuthSettings, type PrincipalSpec } from './auth.js';
import { HttpUrl, PositiveMs, SEPARATOR_PATTERN, SERVER_NAME_PATTERN, StringList } from './primitives.js';
import { ProfileSchema, type ProfileSettings } from './profiles.js';
import { ServerSettingsSchema } from './server-settings.js';

export const GatewaySchema = z
  .strictObject({
    listen: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.int().min(0).max(65535).default(8080),
      })
      .prefault({}),
    path: z.string().regex(/^\//, { error: 'must start with "/"' }).default('/mcp'),
    separator: z
      .string()
      .regex(SEPARATOR_PATTERN, { error: 'a separator must be non-empty, of letters, digits, "_", "." or "-"' })
      .default('__')
      .describe('Between prefix and tool/prompt name: <server><separator><tool>.'),
    allowedOrigins: StringList.describe('Origins allowed besides same-host.'),
    allowedHosts: StringList.describe('Host header values allowed besides the listen address.'),
    maxBodyBytes: z.int().positive().default(4194304),
    sessionIdleMs: PositiveMs.default(1800000),
    requestTimeoutMs: PositiveMs.default(60000),
    maxRequestTimeoutMs: PositiveMs.default(600000).describe('Hard cap even when progress resets the timeout.'),
    drainMs: z.int().min(0).default(10000).describe('On SIGTERM, how long calls in flight may take to finish before they are cancelled.'),
    shutdownDelayMs: z
      .int()
      .min(0)
      .default(0)
      .describe('On SIGTERM, how long /readyz answers 503 while the gateway still accepts requests, so a load balancer stops sending first.'),
    replicaId: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, { error: 'a replica id is 1-63 letters, digits, "_" and "-"' })
      .optional()
      .describe('Names this replica in its session ids (<replicaId>.<uuid>), so a load balancer can send a legacy session back to the replica that holds it.'),
    limits: z
      .strictObject({
        maxSessions: z
          .int()
          .positive()
          .default(10000)
          .describe(
            'Open 2025-era sessions (Streamable HTTP and GET /sse, every endpoint and profile together) this gateway holds at most. Each costs a transport, an SDK server and, with isolation "session", a child process: 10000 is far above what one replica serves well and still bounds memory. At the cap, the principal holding the most sessions loses its least recently used idle one if it holds at least two more than the caller; otherwise the new session is refused with 503 and Retry-After.',
          ),
        maxSessionsPerPrincipal: z
          .int()
          .positive()
          .default(100)
          .describe(
            'Open 2025-era sessions one principal (an API key, a JWT subject, or "anonymous" for every unauthenticated caller) may hold. A real client keeps one or a few; 100 leaves room for many agents behind one key while one leaked or buggy key cannot fill the gateway. At the cap the principal\'s own least recently used idle session is closed for the new one; if all of them are busy, 429 with Retry-After.',
          ),
      })
      .prefault({})
      .describe('Bounds on open sessions; refusals carry data.code TOO_MANY_SESSIONS.'),
    rateLimit: z
      .strictObject({
        store: z
          .discriminatedUnion('type', [
            z.strictObject({ type: z.literal('memory'), maxKeys: z.int().positive().default(100000) }),
            z.strictObject({
              type: z.literal('redis'),
              url: z.string().regex(/^rediss?:\/\//, { error: 'must be a redis:// or rediss:// URL' }),
              prefix: z.string().default('switchboard:rl:').describe('Key prefix, so several gateways can share one Redis.'),
              failMode: z
                .enum(['open', 'closed'])
                .default('open')
                .describe('While Redis is unreachable: "open" lets calls through unlimited, "closed" refuses calls that have a limit.'),
              timeoutMs: PositiveMs.default(250).describe('The longest a decision waits on Redis before the fail mode applies.'),
            }),
          ])
          .prefault({ type: 'memory' }),
      })
      .prefault({})
      .describe('Where rate-limit buckets live: in this process (default) or in Redis, shared by every replica.'),
    servers: z.record(z.string(), ServerSettingsSchema).default({}).describe('Per-server settings, keyed by mcpServers name.'),
    policies: z
      .union([z.string().min(1), z.literal(false)])
      .default('./policies')
      .describe("Policy directory, relative to the config file; false for none (the bridge's default)."),
    stateDir: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Where upstream OAuth tokens are kept, as tokens/<server>.json (mode 0600). Default "~/.switchboard"; relative to the config file; "~/" is the home folder.',
      ),
    defaultEffect: z.enum(['allow', 'deny']).default('allow'),
    auth: AuthSchema.prefault({}),
    stdioPrincipal: PrincipalSchema.prefault({ id: 'local' }),
    metrics: z
      .strictObject({
        enabled: z.boolean().default(true),
        port: z.int().min(0).max(65535).optional().describe('Serve /metrics on its own port instead of the main one.'),
        host: z.string().min(1).optional().describe('Address for the separate metrics port (default: listen.host).'),
        sha256: z.string().min(1).optional().describe('Require `Authorization: Bearer <key>` for /metrics; the key hashed with `switchboard hash-key`.'),
      })
      .prefault({}),
    audit: z
      .strictObject({
        file: z.string().min(1).default('-').describe('"-" for stderr, else a path relative to the config file.'),
        includeArgs: z.boolean().default(false).describe('Record call arguments (as forwarded); their SHA-256 digest is recorded always.'),
        redact: z
          .array(z.string().regex(/^[^.]+(\.[^.]+)*$/, { error: 'a path is dot-separated keys, "*" for any: "password", "auth.token", "items.*.secret"' }))
          .default([])
          .describe('Argument paths replaced by "[redacted]" in recorded arguments.'),
        rotate: z
          .strictObject({
            maxBytes: z.int().positive().optional().describe('Rotate when the file would grow past this size.'),
            maxAgeMs: PositiveMs.optional().describe('Rotate when the file is older than this.'),
            keep: z.int().min(1).default(10).describe('Rotated files kept (<file>.<UTC time>); older ones are deleted.'),
          })
          .optional()
          .describe('File only: rotation by size or age. The hash chain continues across files.'),
        signingKey: z
          .string()
          .min(1)
          .optional()
          .describe(
            'An Ed25519 private key (PEM file, relative to the config file): signed checkpoints prove the chain and, at shutdown, that nothing was cut off the end.',
          ),
        checkpointEvery: z.int().positive().default(1000).describe('With signingKey: a signed checkpoint after this many lines.'),
        checkpointMs: PositiveMs.default(60000).describe('With signingKey: a signed checkpoint at least this often while lines are written.'),
      })
      .prefault({}),
    credentials: z
      .strictObject({
        key: z
          .string()
          .min(16, { error: 'must be at least 16 characters; use a long random secret such as ${SWITCHBOARD_CREDENTIALS_KEY}' })
          .describe('The secret users\' upstream tokens are encrypted with at rest (e.g. "${SWITCHBOARD_CREDENTIALS_KEY}").'),
        store: z
          .discriminatedUnion('type', [
            z.strictObject({
              type: z.literal('file'),
              path: z.string().min(1).optional().describe('Default: <stateDir>/credentials.json; relative to the config file.'),
            }),
            z.strictObject({
              type: z.literal('redis'),
              url: z.string().regex(/^rediss?:\/\//, { error: 'must be a redis:// or rediss:// URL' }),
              prefix: z.string().default('switchboard:cred:'),
            }),
          ])
          .prefault({ type: 'file' }),
      })
      .optional()
      .describe('Where users\' own upstream credentials (credentials "user-oauth") are kept, encrypted.'),
    publicUrl: HttpUrl.optional().describe(
      "The gateway's public base URL (e.g. https://gw.example.com), for the sign-in links users are sent to. Default: the origin of auth.resource, else the address it listens on.",
    ),
    profiles: z
      .record(z.string().regex(SERVER_NAME_PATTERN, { error: 'a profile name is letters, digits, "_" and "-"' }), ProfileSchema)
      .default({})
      .describe('Curated endpoints: each profile is served at its own path with its own view of the catalog.'),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    console: ConsoleSchema.prefault({}),
    approvals: ApprovalsSchema.prefault({}),
    pinning: PinningSchema.prefault({}),
    scan: ScanSchema.prefault({}),
    validateArguments: ValidateArgumentsSchema,
    tracing: z
      .strictObject({
        enabled: z.boolean().default(false),
        serviceName: z.string().min(1).default('switchboard'),
      })
      .prefault({})
      .describe(
        'W3C trace context for forwarded requests (_meta.traceparent and the HTTP traceparent header); spans through @opentelemetry/api when it is installed.',
      ),
  })
  .describe("Switchboard's own settings; ignored by other MCP clients.");

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type RateLimitStoreSettings =
  | { type: 'memory'; maxKeys: number }
  | { type: 'redis'; url: string; prefix: string; failMode: 'open' | 'closed'; timeoutMs: number };

export interface GatewaySettings {
  listen: { host: string; port: number };
  path: string;
  separator: string;
  allowedOrigins: string[];
  allowedHosts: string[];
  maxBodyBytes: number;
  sessionIdleMs: number;
  requestTimeoutMs: number;
  maxRequestTimeoutMs: number;
  drainMs: number;
  shutdownDelayMs: number;
  replicaId?: string;
  limits: { maxSessions: number; maxSessionsPerPrincipal: number };
  rateLimit: { store: RateLimitStoreSettings };
  /** Absolute; false: no policy directory (no rules, nothing watched). */
  policies: string | false;
  defaultEffect: 'allow' | 'deny';
  auth: AuthSettings;
  stdioPrincipal: PrincipalSpec;
  metrics: { enabled: boolean; port?: number; host?: string; sha256?: string };
  /** file: "-" (stderr) or an absolute path; signingKey absolute. */
  audit: AuditSettings;
  profiles: Record<string, ProfileSettings>;
  logLevel: LogLevel;
  tracing: { enabled: boolean; serviceName: string };
  /** Present when configured; the file store's path is absolute. */
  credentials?: { key: string; store: { type: 'file'; path: string } | { type: 'redis'; url: string; prefix: string } };
  publicUrl?: string;
  console: ConsoleSettings;
  approvals: ApprovalsSettings;
  /** Contract pinning (lock path absolute), the poisoning lint, argument validation (default resolved). */
  pinning: ContractSettings['pinning'];
  scan: ContractSettings['scan'];
  validateArguments: ContractSettings['validateArguments'];
}

// Compile-time guard: the schema's output fits the public settings type.
type ParsedGateway = Omit<z.output<typeof GatewaySchema>, 'servers' | 'profiles' | 'credentials' | 'validateArguments'> & {
  validateArguments: ContractSettings['validateArguments'];
  profiles: Record<string, ProfileSettings>;
  credentials?: GatewaySettings['credentials'];
};
const _gatewayFits = (g: ParsedGateway): GatewaySettings => g;
void _gatewayFits;
