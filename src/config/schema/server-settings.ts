/**
 * `gateway.servers.<name>`: Switchboard's own settings for one server
 * (prefix, timeout, isolation, whose credentials reach it), and the
 * `ServerConfig` an entry and its settings are loaded into.
 */
import { z } from 'zod';
import { PinningOverrideSchema, type ServerPinning } from './contracts.js';
import { HttpUrl, NAME_RULE, PositiveMs } from './primitives.js';
import type { ServerSpec } from './servers.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** Where the gateway posts a caller's token: https, or plain http on a loopback host (the SDK refuses anything else). */
const SecureEndpoint = HttpUrl.refine(isSecureEndpoint, { error: 'must be an https URL (plain http only on a loopback host)' });

function isSecureEndpoint(url: string): boolean {
  try {
    const { protocol, hostname } = new URL(url);
    return protocol === 'https:' || LOOPBACK_HOSTS.has(hostname);
  } catch {
    return true; // not a URL at all: HttpUrl says so
  }
}

const IdJagSchema = z
  .strictObject({
    idpTokenEndpoint: SecureEndpoint.describe(
      "The organisation IdP's token endpoint: the caller's token is exchanged there (RFC 8693) for an identity assertion authorization grant (ID-JAG).",
    ),
    clientId: z.string().min(1).describe("The gateway's client id at the IdP."),
    clientSecret: z.string().min(1).optional().describe('Its secret (use ${VAR}); omit for a public client.'),
    audience: z.string().min(1).optional().describe("The ID-JAG's audience (default: the issuer of the upstream's authorization server)."),
    resource: z.string().min(1).optional().describe("The resource the ID-JAG names (default: the upstream's RFC 9728 resource, else its URL)."),
    scope: z.string().min(1).optional().describe('Scopes to ask for at the upstream (space-separated).'),
    authorizationServer: HttpUrl.optional().describe(
      "The issuer of the upstream's authorization server (default: the one the upstream names in its RFC 9728 metadata, kept for the life of the process).",
    ),
    upstreamClient: z
      .strictObject({
        clientId: z.string().min(1),
        clientSecret: z.string().min(1).optional().describe('Use ${VAR}; omit for a public client.'),
      })
      .describe("The gateway's client at the upstream's authorization server, which redeems the ID-JAG (RFC 7523 jwt-bearer grant)."),
  })
  .describe('credentials "id-jag": the IdP that issues ID-JAGs for callers, and the client that redeems them upstream.');

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
  trustAnnotations: z.boolean().optional().describe("Trust this server's tool annotations (e.g. readOnlyHint)."),
  pinning: PinningOverrideSchema.optional(),
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
    .enum(['static', 'user-oauth', 'token-exchange', 'id-jag'])
    .default('static')
    .describe(
      'HTTP upstreams: "static" (the configured headers/oauth), "user-oauth" (each user authorises the upstream once, as themselves), "token-exchange" (RFC 8693: the caller\'s token exchanged for one scoped to this upstream), "id-jag" (Enterprise-Managed Authorization: an ID-JAG from the organisation\'s IdP, redeemed at the upstream\'s authorization server).',
    ),
  userOAuth: z
    .strictObject({
      clientId: z
        .string()
        .min(1)
        .optional()
        .describe("Registered client id; without it (and without the entry's oauth.clientId) the gateway registers itself dynamically."),
      clientSecret: z.string().min(1).optional(),
      scopes: z.array(z.string().min(1)).optional().describe("Scopes to ask for (default: what the upstream's metadata lists)."),
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
  idJag: IdJagSchema.optional(),
});

export type ServerSettings = z.output<typeof ServerSettingsSchema>;

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
  /** gateway.pinning with this server's override applied. */
  pinning: ServerPinning;
  /** Client `_meta` keys forwarded besides the protocol's own (exact keys, or `ns/*`). */
  forwardMeta: string[];
  /** Headers carrying the caller's identity to an HTTP upstream: header name → principal field. */
  identityHeaders: Record<string, 'id' | 'groups' | 'scopes'>;
  /** Whose credential reaches the upstream: the configured one, each user's own, the caller's exchanged, or one redeemed from an ID-JAG. */
  credentials: 'static' | 'user-oauth' | 'token-exchange' | 'id-jag';
  userOAuth?: { clientId?: string; clientSecret?: string; scopes?: string[] };
  tokenExchange?: { tokenEndpoint: string; clientId: string; clientSecret: string; audience?: string; scope?: string };
  idJag?: IdJagSettings;
}

export type IdJagSettings = z.output<typeof IdJagSchema>;
