/**
 * The configuration file's schema: the single source of truth. The JSON
 * Schema in `schema/switchboard.schema.json` is generated from it
 * (`npm run schema`); `load.ts` turns a parsed file into a `LoadedConfig`.
 *
 * The file is a valid `.mcp.json` / `claude_desktop_config.json`: server
 * entries tolerate keys other clients put there, `gateway` does not (typos
 * there must be caught).
 */
import { createPublicKey } from 'node:crypto';
import { z } from 'zod';

/** Server names and prefixes; also checked against the separator at load. */
export const SERVER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** Characters a separator may use: those of an exposed tool name. */
export const SEPARATOR_PATTERN = /^[A-Za-z0-9_.-]+$/;
/** `type` values meaning Streamable HTTP. */
export const HTTP_TYPE_ALIASES = ['http', 'streamable-http', 'streamableHttp'] as const;
export const REMOTE_TYPES = [...HTTP_TYPE_ALIASES, 'sse'] as const;

const NAME_RULE = 'letters, digits, "_" and "-", starting with a letter or digit';
const StringMap = z.record(z.string(), z.string());

const ServerName = z.string().regex(SERVER_NAME_PATTERN, { error: `a server name may contain only ${NAME_RULE}` });

export const StdioEntrySchema = z
  .looseObject({
    type: z.literal('stdio').optional(),
    command: z.string().min(1).describe('Executable to run, e.g. "node".'),
    args: z.array(z.string()).default([]),
    env: StringMap.default({}).describe('Extra environment for the child; ${VAR} references allowed.'),
    cwd: z.string().optional().describe('Working directory, relative to the config file.'),
  })
  .describe('A stdio server: a child process speaking MCP on stdin/stdout.');

const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** Scopes as Claude Code's `.mcp.json` writes them: one space-separated string. */
const OAuthScopes = z
  .string()
  .min(1)
  .describe('Space-separated scopes to request (default: those the server advertises).');
const AuthServerMetadataUrl = HttpUrl.describe(
  'URL of the authorization server\'s RFC 8414 metadata; skips discovery through the server (and pins where credentials go).',
);

/**
 * The `.mcp.json` form (`{ clientId, callbackPort }`, as Claude Code writes it):
 * authorization code + PKCE, run once by an operator with `switchboard login`.
 */
export const AuthorizationCodeOAuthSchema = z
  .strictObject({
    clientId: z.string().min(1).describe('The client id registered with the authorization server.'),
    callbackPort: z
      .int()
      .min(1)
      .max(65535)
      .describe('`switchboard login` listens on this loopback port; the redirect URI is http://localhost:<port>/callback.'),
    clientSecret: z.string().min(1).optional().describe('Only for a confidential client; use ${VAR}.'),
    scopes: OAuthScopes.optional(),
    authServerMetadataUrl: AuthServerMetadataUrl.optional(),
    grant: z.literal('authorization_code').optional().describe('The default: authorization code + PKCE.'),
  })
  .describe('Authorization code + PKCE: run `switchboard login <server>` once; tokens are stored and refreshed.');

/** Machine-to-machine: the gateway obtains (and renews) tokens itself. */
export const ClientCredentialsOAuthSchema = z
  .strictObject({
    grant: z.literal('client_credentials'),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1).describe('Use ${VAR}: never a literal in a committed file.'),
    scopes: OAuthScopes.optional(),
    tokenEndpoint: HttpUrl.optional().describe('Token endpoint of the authorization server (default: discovered from the server).'),
    authServerMetadataUrl: AuthServerMetadataUrl.optional(),
  })
  .refine((o) => o.tokenEndpoint === undefined || o.authServerMetadataUrl === undefined, {
    path: ['authServerMetadataUrl'],
    error: 'set either "tokenEndpoint" or "authServerMetadataUrl", not both',
    params: { fix: 'remove one of them' },
  })
  .describe('OAuth client credentials (machine to machine).');

export const UpstreamOAuthSchema = z.discriminatedUnion('grant', [AuthorizationCodeOAuthSchema, ClientCredentialsOAuthSchema]);

export const RemoteEntrySchema = z
  .looseObject({
    type: z.enum(REMOTE_TYPES).optional().describe('"http" (Streamable HTTP, the default when "url" is set) or "sse".'),
    url: z
      .string()
      .describe('Endpoint URL. Empty means "not configured": the server is listed, skipped and warned about.'),
    headers: StringMap.default({}).describe('Sent with every request; use ${VAR} for secrets.'),
    oauth: UpstreamOAuthSchema.optional().describe(
      'OAuth to this server: { clientId, callbackPort } (see `switchboard login <server>`) or { grant: "client_credentials", clientId, clientSecret }.',
    ),
  })
  .describe('A remote server over Streamable HTTP or legacy HTTP+SSE.');

export const ServerEntrySchema = z.union([StdioEntrySchema, RemoteEntrySchema]);
export const ServersSchema = z.record(ServerName, ServerEntrySchema);

const PositiveMs = z.int().positive();
const StringList = z.array(z.string()).default([]);

export const ServerSettingsSchema = z.strictObject({
  prefix: z
    .string()
    .regex(/^$|^[A-Za-z0-9][A-Za-z0-9_-]*$/, { error: `a prefix may contain only ${NAME_RULE}, or be ""` })
    .optional()
    .describe('Prefix of this server\'s tool and prompt names (default: the server name; "" mounts unrenamed).'),
  timeoutMs: PositiveMs.optional().describe('Request timeout (default: gateway.requestTimeoutMs).'),
  enabled: z.boolean().default(true),
  isolation: z
    .enum(['shared', 'session'])
    .default('shared')
    .describe('stdio only: "shared" (one child for all sessions) or "session" (one child per session).'),
  maxProcesses: z.int().positive().default(50).describe('Bound on children with isolation "session".'),
  trustAnnotations: z.boolean().optional().describe('Trust this server\'s tool annotations (e.g. readOnlyHint).'),
  forwardMeta: z
    .array(z.string().min(1))
    .optional()
    .describe(
      'Keys of a request\'s _meta that reach this server besides the protocol\'s own (io.modelcontextprotocol/*, progressToken) and W3C trace context; a trailing "/*" allows a namespace. Others are dropped: an upstream must not read identity or tenant hints a client made up.',
    ),
  identityHeaders: z
    .record(z.string().regex(/^[A-Za-z0-9-]+$/, { error: 'a header name is letters, digits and "-"' }), z.enum(['id', 'groups', 'scopes']))
    .optional()
    .describe('HTTP upstreams: headers that carry the caller\'s identity (never their credential), e.g. {"X-Switchboard-User": "id"}.'),
  credentials: z
    .enum(['static', 'user-oauth', 'token-exchange'])
    .default('static')
    .describe(
      'HTTP upstreams: "static" (the configured headers/oauth), "user-oauth" (each user authorises the upstream once, as themselves), "token-exchange" (RFC 8693: the caller\'s token exchanged for one scoped to this upstream).',
    ),
  userOAuth: z
    .strictObject({
      clientId: z.string().min(1).optional().describe('Registered client id; without it (and without the entry\'s oauth.clientId) the gateway registers itself dynamically.'),
      clientSecret: z.string().min(1).optional(),
      scopes: z.array(z.string().min(1)).optional().describe('Scopes to ask for (default: what the upstream\'s metadata lists).'),
    })
    .optional()
    .describe('credentials "user-oauth": the client the gateway is at the upstream\'s authorization server.'),
  tokenExchange: z
    .strictObject({
      tokenEndpoint: HttpUrl.describe("The organisation's token endpoint (RFC 8693)."),
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
      audience: z.string().min(1).optional().describe("The upstream's audience (default: its URL, as an RFC 8707 resource)."),
      scope: z.string().min(1).optional(),
    })
    .optional()
    .describe('credentials "token-exchange": where and as which client the caller\'s token is exchanged.'),
});

const PrincipalSchema = z.strictObject({
  id: z.string().min(1),
  scopes: StringList,
  groups: StringList,
});

/** Signature algorithms a gateway may accept: asymmetric only (no HS*, no "none"). */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export const DEFAULT_JWT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA', 'PS256'] as const;

const NonEmptyList = z.array(z.string().min(1)).min(1);
/** One claim name, or several whose values are merged. */
const ClaimNames = z.union([z.string().min(1), NonEmptyList]);

/** A public JWK; a private or symmetric key has no place in a config file. */
const PublicJwk = z
  .looseObject({ kty: z.string().min(1) })
  .refine((jwk) => jwk.kty !== 'oct' && !('d' in jwk), {
    error: 'must be a public key: a symmetric ("oct") or private ("d") JWK is not accepted',
  });
/** A PEM public key (SPKI, PKCS#1 or an X.509 certificate); checked here so a bad key fails at load with its path. */
const PemPublicKey = z.string().superRefine((pem, ctx) => {
  if (/PRIVATE KEY/.test(pem)) {
    ctx.addIssue({ code: 'custom', message: 'must be a public key, not a private key' });
    return;
  }
  try {
    createPublicKey(pem);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a PEM public key ("-----BEGIN PUBLIC KEY-----" …)' });
  }
});

export const JwtSchema = z
  .strictObject({
    issuer: z.string().min(1).describe('Expected "iss" claim.'),
    audience: z
      .union([z.string().min(1), NonEmptyList])
      .optional()
      .describe('Accepted "aud" values (default: auth.resource, else the gateway\'s own URL).'),
    jwksUri: HttpUrl.optional().describe('JWKS of the issuer. Exactly one of jwksUri and publicKeys.'),
    publicKeys: z
      .array(z.union([PemPublicKey, PublicJwk]))
      .min(1)
      .optional()
      .describe('Static verification keys: public JWKs or PEM strings. Exactly one of jwksUri and publicKeys.'),
    algorithms: z
      .array(z.enum(JWT_ALGORITHMS))
      .min(1)
      .default([...DEFAULT_JWT_ALGORITHMS])
      .describe('Accepted "alg" values.'),
    clockToleranceSec: z.int().min(0).default(60).describe('Allowed clock skew for exp/nbf.'),
    claims: z
      .strictObject({
        id: z.string().min(1).default('sub').describe('Claim holding the principal id.'),
        scopes: ClaimNames.default(['scope', 'scp']).describe('Claim(s) holding scopes: a space-separated string or an array.'),
        groups: ClaimNames.default('groups').describe('Claim(s) holding groups: an array (or a single string).'),
      })
      .prefault({}),
    authorizationServers: z
      .array(HttpUrl)
      .min(1)
      .optional()
      .describe('Authorization servers named in the protected-resource metadata (default: [issuer]).'),
    scopesSupported: StringList.describe('scopes_supported of the protected-resource metadata.'),
    jwksCacheMaxAgeMs: PositiveMs.default(600000).describe('How long a fetched JWKS is used before it is refetched.'),
    jwksCooldownMs: z
      .int()
      .min(0)
      .default(30000)
      .describe('Minimum time between JWKS refetches triggered by an unknown "kid".'),
  })
  .superRefine((jwt, ctx) => {
    if ((jwt.jwksUri === undefined) === (jwt.publicKeys === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['jwksUri'],
        message: jwt.jwksUri === undefined ? 'one of "jwksUri" and "publicKeys" is required' : '"jwksUri" and "publicKeys" cannot both be set',
      });
    }
  })
  .transform((jwt): JwtSettings => ({ ...jwt, authorizationServers: jwt.authorizationServers ?? [jwt.issuer] }));

export const AuthSchema = z.looseObject({
  required: z.boolean().optional(),
  resource: HttpUrl.refine((u) => !u.includes('#'), { error: 'must not have a fragment' })
    .optional()
    .describe('Canonical URL clients use for this gateway (e.g. https://gw.example.com/mcp): the default JWT audience and the metadata "resource".'),
  apiKeys: z
    .array(
      z.looseObject({
        id: z.string().min(1),
        sha256: z.string().min(1).describe('Output of `switchboard hash-key`.'),
        scopes: StringList,
        groups: StringList,
      }),
    )
    .default([]),
  jwt: JwtSchema.optional().describe('Bearer JWTs (OAuth access tokens) from an authorization server.'),
});

const Globs = z.array(z.string().min(1)).min(1);

export const ProfileSchema = z
  .strictObject({
    path: z.string().regex(/^\/[A-Za-z0-9/_.-]*$/, { error: 'must be an absolute URL path such as "/mcp/sales"' }).optional(),
    description: z.string().optional(),
    enabled: z.boolean().default(true),
    servers: z.array(z.string().min(1)).min(1).optional().describe('The servers this profile shows (default: all).'),
    include: z.string().min(1).optional().describe("A plugin's own .mcp.json: its servers join the gateway and make up this profile."),
    tools: Globs.optional().describe('Globs over exposed tool names.'),
    prompts: Globs.optional().describe('Globs over exposed prompt names.'),
    resources: Globs.optional().describe('Globs over exposed resource URIs and URI templates.'),
    disclosure: z.enum(['full', 'search']).default('full').describe('"search": list find_tools and call_tool (plus pinned) instead of every tool.'),
    pinned: z.array(z.string().min(1)).default([]).describe('Exposed tool names always listed directly under disclosure "search".'),
  })
  .describe('gateway.profiles.<name>: served at path (default /mcp/<name>), and at /sse/<name> for legacy clients.');

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
    servers: z
      .record(z.string(), ServerSettingsSchema)
      .default({})
      .describe('Per-server settings, keyed by mcpServers name.'),
    policies: z
      .union([z.string().min(1), z.literal(false)])
      .default('./policies')
      .describe('Policy directory, relative to the config file; false for none (the bridge\'s default).'),
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
        includeArgs: z.boolean().default(false),
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
      'The gateway\'s public base URL (e.g. https://gw.example.com), for the sign-in links users are sent to. Default: the origin of auth.resource, else the address it listens on.',
    ),
    profiles: z
      .record(z.string().regex(SERVER_NAME_PATTERN, { error: 'a profile name is letters, digits, "_" and "-"' }), ProfileSchema)
      .default({})
      .describe('Curated endpoints: each profile is served at its own path with its own view of the catalog.'),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    tracing: z
      .strictObject({
        enabled: z.boolean().default(false),
        serviceName: z.string().min(1).default('switchboard'),
      })
      .prefault({})
      .describe('W3C trace context for forwarded requests (_meta.traceparent and the HTTP traceparent header); spans through @opentelemetry/api when it is installed.'),
  })
  .describe('Switchboard\'s own settings; ignored by other MCP clients.');

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

/** The parts of zod's internal definitions that knownKeysAt walks. */
type Def = {
  type: string;
  innerType?: Node;
  in?: Node;
  shape?: Record<string, Node>;
  valueType?: Node;
  element?: Node;
  options?: Node[];
  /** Set on a discriminated union. */
  discriminator?: string;
};
type Node = { _zod: { def: Def; propValues?: Record<string, Set<unknown>> } };
const root = ConfigFileSchema as unknown as Node;

/**
 * Keys the schema knows for the object at `segs` (for "did you mean" fixes).
 * `value` (the data at the same level as `node`) picks the option of a
 * discriminated union by its discriminator; without it the first option is used.
 */
export function knownKeysAt(segs: readonly PropertyKey[], node: Node = root, value?: unknown): string[] | undefined {
  const def = node._zod.def;
  const inner = def.innerType ?? def.in;
  if (inner) return knownKeysAt(segs, inner, value);
  if (def.type === 'union') {
    const options = def.options ?? [];
    const tag = def.discriminator;
    const here = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
    const picked = tag === undefined ? undefined : options.find((o) => o._zod.propValues?.[tag]?.has(here[tag]));
    for (const option of picked ? [picked] : options) {
      const keys = knownKeysAt(segs, option, value);
      if (keys) return keys;
    }
    return undefined;
  }
  const [head, ...rest] = segs;
  if (head === undefined) return def.shape ? Object.keys(def.shape) : undefined;
  const next = def.shape?.[String(head)] ?? def.valueType ?? def.element;
  return next ? knownKeysAt(rest, next, (value as Record<PropertyKey, unknown> | undefined)?.[head]) : undefined;
}

/** The candidate closest to `word` (edit distance), if close enough to be a likely typo. */
export function closestKey(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

export type ConfigFile = z.input<typeof ConfigFileSchema>;
export type ParsedConfigFile = z.output<typeof ConfigFileSchema>;
export type ServerEntry = z.output<typeof ServerEntrySchema>;
export type StdioEntry = z.output<typeof StdioEntrySchema>;
export type RemoteEntry = z.output<typeof RemoteEntrySchema>;
export type ServerSettings = z.output<typeof ServerSettingsSchema>;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type StdioServerSpec = {
  type: 'stdio';
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Absolute. */
  cwd?: string;
};

/** `oauth` of a remote entry, as the upstream side uses it. */
export type UpstreamOAuthSpec =
  | {
      grant: 'authorization_code';
      clientId: string;
      callbackPort: number;
      clientSecret?: string;
      scopes?: string;
      authServerMetadataUrl?: string;
      /** Absolute: `<gateway.stateDir>/tokens/<server>.json`. */
      tokenFile: string;
    }
  | {
      grant: 'client_credentials';
      clientId: string;
      clientSecret: string;
      scopes?: string;
      tokenEndpoint?: string;
      authServerMetadataUrl?: string;
    };

export type HttpServerSpec = {
  type: 'http' | 'sse';
  url: string;
  headers: Record<string, string>;
  oauth?: UpstreamOAuthSpec;
};

export type ServerSpec = StdioServerSpec | HttpServerSpec;

export interface ServerConfig {
  name: string;
  spec: ServerSpec;
  /** Effective: settings.prefix ?? name. */
  prefix: string;
  /** settings.timeoutMs ?? gateway.requestTimeoutMs. */
  timeoutMs: number;
  enabled: boolean;
  isolation: 'shared' | 'session';
  maxProcesses: number;
  trustAnnotations: boolean;
  /** Client `_meta` keys forwarded besides the protocol's own (exact keys, or `ns/*`). */
  forwardMeta: string[];
  /** Headers carrying the caller's identity to an HTTP upstream: header name → principal field. */
  identityHeaders: Record<string, 'id' | 'groups' | 'scopes'>;
  /** Whose credential reaches the upstream: the configured one, each user's own, or the caller's exchanged. */
  credentials: 'static' | 'user-oauth' | 'token-exchange';
  userOAuth?: { clientId?: string; clientSecret?: string; scopes?: string[] };
  tokenExchange?: { tokenEndpoint: string; clientId: string; clientSecret: string; audience?: string; scope?: string };
}

export interface PrincipalSpec {
  id: string;
  scopes: string[];
  groups: string[];
}

export interface ApiKeySpec extends PrincipalSpec {
  sha256: string;
  [extra: string]: unknown;
}

export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** A JWK as it appears in a config file (public members only). */
export interface PublicJwkSpec {
  kty: string;
  [member: string]: unknown;
}

/** `gateway.auth.jwt`, defaults applied. */
export interface JwtSettings {
  issuer: string;
  /** Absent: the gateway's canonical resource URL. */
  audience?: string | string[];
  /** Exactly one of jwksUri and publicKeys. */
  jwksUri?: string;
  /** JWK objects or PEM strings. */
  publicKeys?: Array<string | PublicJwkSpec>;
  algorithms: JwtAlgorithm[];
  clockToleranceSec: number;
  claims: { id: string; scopes: string | string[]; groups: string | string[] };
  /** Defaulted to [issuer]. */
  authorizationServers: string[];
  scopesSupported: string[];
  jwksCacheMaxAgeMs: number;
  jwksCooldownMs: number;
}

export interface AuthSettings {
  required?: boolean;
  /** Canonical URL clients use for the gateway, e.g. https://gw.example.com/mcp. */
  resource?: string;
  apiKeys: ApiKeySpec[];
  jwt?: JwtSettings;
  [extra: string]: unknown;
}

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
  /** "-" (stderr) or an absolute path. */
  audit: { file: string; includeArgs: boolean };
  profiles: Record<string, ProfileSettings>;
  logLevel: LogLevel;
  tracing: { enabled: boolean; serviceName: string };
  /** Present when configured; the file store's path is absolute. */
  credentials?: { key: string; store: { type: 'file'; path: string } | { type: 'redis'; url: string; prefix: string } };
  publicUrl?: string;
}

export interface ProfileSettings {
  name: string;
  /** Where it is served (absolute URL path). */
  path: string;
  description?: string;
  enabled: boolean;
  /** Undefined: every server. */
  servers?: string[];
  tools?: string[];
  prompts?: string[];
  resources?: string[];
  disclosure: 'full' | 'search';
  pinned: string[];
}

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

// Compile-time guard: the schema's output fits the public settings type.
type ParsedGateway = Omit<z.output<typeof GatewaySchema>, 'servers' | 'profiles' | 'credentials'> & {
  profiles: Record<string, ProfileSettings>;
  credentials?: GatewaySettings['credentials'];
};
const _gatewayFits = (g: ParsedGateway): GatewaySettings => g;
void _gatewayFits;
