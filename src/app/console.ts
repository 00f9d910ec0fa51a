/**
 * The console's view of this gateway: what its overview and catalog pages
 * show, from the parts the gateway already has (readiness, the catalog).
 */
import type { Express } from 'express';
import type { Approvals } from '../approvals/approvals.js';
import { mayDecide } from '../approvals/approvers.js';
import type { Catalog, Routed } from '../catalog/catalog.js';
import type { Principal } from '../core/principal.js';
import { approverText } from '../policy/tests-runner.js';
import type { JwtSettings, LoadedConfig } from '../config/schema/index.js';
import { consolePrincipal } from './console-principal.js';
import type { PolicyEngine } from '../policy/engine.js';
import { listingInput } from '../pipeline/visible.js';
import type { CallerCredentials } from './callers.js';
import { playground } from './console-playground.js';
import type { GatewaySettings } from '../config/schema/index.js';
import { OidcSignIn } from '../console/oidc.js';
import { mountConsole } from '../console/routes.js';
import type { AuditSink } from '../observability/audit.js';
import type { Logger } from '../observability/log.js';
import type { GatewayIdentity } from './identity.js';

export interface ConsoleParts {
  config: () => LoadedConfig;
  policy: () => PolicyEngine;
  callers: CallerCredentials;
  dropCaller: (principal: string, server: string) => void;
  settings: GatewaySettings;
  identity: GatewayIdentity;
  audit: AuditSink;
  log: Logger;
  readiness: () => { ready: boolean; body: unknown };
  catalog: Catalog;
  version: string;
  approvals: Approvals;
}

export function consoleMount(parts: ConsoleParts): (app: Express) => void {
  const startedAt = new Date().toISOString();
  const { settings, catalog } = parts;
  return (app) =>
    mountConsole(app, {
      settings: settings.console,
      authenticate: parts.identity.authenticate,
      audit: parts.audit,
      log: parts.log,
      secure: (settings.publicUrl ?? '').startsWith('https:'),
      overview: () => overviewOf(parts.readiness().body as Readiness, parts.version, startedAt),
      catalog: (query) => catalogFor(catalog, parts.policy(), query, settings.auth.jwt),
      playground: playground(parts.config, parts.policy) as (body: unknown, recent: readonly string[]) => unknown,
      ...oidcOf(settings),
      ...(settings.publicUrl ? { publicUrl: settings.publicUrl } : {}),
      ...(parts.callers.store && parts.callers.userOAuth ? { accounts: accountsOf(parts.callers, parts.dropCaller) } : {}),
      approvals: inboxOf(parts.approvals),
    });
}

interface Readiness {
  upstreams: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

/** /readyz's body, with the upstreams as a list (name first) for the page's table. */
function overviewOf(body: Readiness, version: string, startedAt: string): Record<string, unknown> {
  const { upstreams, ...rest } = body;
  return { version, startedAt, ...rest, upstreams: Object.entries(upstreams).map(([name, u]) => ({ name, ...u })) };
}

/** Linked accounts as the console shows them (never a token), and revoking one (its connections go too). */
function accountsOf(callers: CallerCredentials, dropCaller: (principal: string, server: string) => void) {
  return {
    list: (principal?: string) => callers.store!.list(principal),
    async revoke(principal: string, server: string) {
      const revoked = await callers.userOAuth!.revoke(principal, server);
      dropCaller(principal, server);
      return revoked;
    },
  };
}

/** The approvals inbox: every pending approval (arguments as approvers may see them) and whether this viewer may decide it. */
function inboxOf(approvals: Approvals) {
  return {
    async inbox(viewer: Principal) {
      return (await approvals.pending()).map((a) => ({
        id: a.id,
        principal: a.principal,
        server: a.server,
        tool: a.tool,
        exposed: a.exposed,
        arguments: a.arguments,
        message: a.message,
        ruleId: a.ruleId,
        approvers: a.approvers.map(approverText),
        createdAt: new Date(a.createdAt).toISOString(),
        expiresAt: new Date(a.expiresAt).toISOString(),
        ...(a.requestId ? { requestId: a.requestId } : {}),
        mayDecide: mayDecide(a, viewer, 'console').ok,
      }));
    },
    decide: (id: string, outcome: 'granted' | 'declined', decider: Principal) => approvals.decide(id, outcome, decider, 'console'),
  };
}

/** The IdP sign-in, when configured (the config's cross-check guarantees gateway.auth.jwt with it). */
function oidcOf(settings: GatewaySettings): { oidc?: OidcSignIn } {
  const oidc = settings.console.oidc;
  const jwt = settings.auth.jwt;
  if (!oidc || !jwt) return {};
  const resource = oidc.resource ?? settings.auth.resource;
  return {
    oidc: new OidcSignIn({
      issuer: jwt.issuer,
      clientId: oidc.clientId,
      scopes: oidc.scopes,
      ...(oidc.clientSecret ? { clientSecret: oidc.clientSecret } : {}),
      ...(resource ? { resource } : {}),
    }),
  };
}

const KINDS = [
  ['tools', 'routedTools'],
  ['prompts', 'routedPrompts'],
  ['resources', 'routedResources'],
  ['resourceTemplates', 'routedResourceTemplates'],
] as const;

/**
 * The catalog, and with `?principal=<id>[&groups=a,b][&scopes=x,y]` or
 * `?claims=<a JWT's claims as JSON>` whether that principal sees each entry
 * and which rule says so (the same decision that filters its lists).
 */
function catalogFor(catalog: Catalog, policy: PolicyEngine, query: Record<string, unknown>, jwt: JwtSettings | undefined): Record<string, unknown> {
  const quarantined = catalog.quarantinedRows();
  const principal = consolePrincipal(query, jwt);
  if (!principal) return { entries: catalog.entries(), quarantined };
  const viewer = { principal, session: { id: 'console', transport: 'streamable-http' as const, era: 'modern' as const } };
  const time = new Date();
  const entries = KINDS.flatMap(([kind, method]) =>
    (catalog[method]() as Routed<object>[]).map((entry) => {
      const decision = policy.decide(listingInput(kind, entry, viewer, time), { listing: true, explain: true });
      const exposed = entry.item as { name?: string; uri?: string; uriTemplate?: string };
      return {
        kind,
        server: entry.upstream.name,
        exposed: exposed.name ?? exposed.uri ?? exposed.uriTemplate,
        original: entry.original,
        visible: decision.allowed,
        ruleId: decision.ruleId,
        reason: decision.reason,
        trace: decision.trace,
      };
    }),
  );
  return { principal: principal.id, entries, quarantined };
}
