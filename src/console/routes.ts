/**
 * The console's routes under gateway.console.path: the page and its assets,
 * sign-in (an API key exchanged once for a session cookie), and the JSON API
 * the page uses (docs/console.md). Reads need a session; writes need its CSRF
 * token too. Every response forbids framing and carries a strict CSP.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { HttpAuthenticator } from '../auth/http.js';
import type { ConsoleSettings } from '../config/schema/console.js';
import type { Principal } from '../core/principal.js';
import type { AuditSink } from '../observability/audit.js';
import type { Logger } from '../observability/log.js';
import { mountApprovalInbox, type ConsoleApprovals } from './approvals.js';
import { CallStats } from './call-stats.js';
import { DecisionStreams } from './decisions.js';
import type { OidcSignIn } from './oidc.js';
import { roleOf } from './roles.js';
import { ConsoleSessions, type ConsoleSession } from './sessions.js';
import { SignInLimit } from './sign-in-limit.js';

export interface ConsoleDeps {
  settings: ConsoleSettings;
  authenticate: HttpAuthenticator;
  audit: AuditSink;
  log: Logger;
  /** The overview's parts that the gateway knows (readiness, versions); the console adds call statistics. */
  overview: () => Record<string, unknown>;
  /** The catalog; with `principal` (an id, groups, scopes in the query), whether that principal sees each entry and why. */
  catalog: (query: Record<string, unknown>) => Record<string, unknown>;
  /** Whether the console is reached over https (the cookie is then Secure). */
  secure: boolean;
  /** The policy playground: a candidate set against a request and the recent decisions; throws PlaygroundInputError-like errors (400). */
  playground: (body: unknown, recent: readonly string[]) => unknown;
  /** Users' linked upstream accounts (absent without gateway.credentials): listed without tokens, revoked by an admin. */
  /** Sign-in through the IdP (gateway.console.oidc). */
  oidc?: OidcSignIn;
  /** The gateway's public base URL, for the IdP's redirect back (default: the request's own host). */
  publicUrl?: string;
  accounts?: {
    list(principal?: string): Promise<unknown[]>;
    revoke(principal: string, server: string): Promise<boolean>;
  };
  /** Calls waiting for a person's yes (approve rules). */
  approvals?: ConsoleApprovals;
}

/** Recent decisions kept for the playground's replay. */
const RECENT = 500;

const COOKIE = 'sb_console';
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
/** The page and its assets ship with the package, beside dist/. */
const ASSETS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console');

export function mountConsole(app: Express, deps: ConsoleDeps): void {
  const { settings } = deps;
  const base = settings.path;
  const sessions = new ConsoleSessions(settings.sessionMs);
  const stats = new CallStats();
  const recent: string[] = [];
  deps.audit.subscribe((line) => {
    const record = safeParse(line);
    if (record.type !== 'audit') return;
    stats.record(record);
    if (recent.push(line) > RECENT) recent.shift();
  });
  const streams = new DecisionStreams(deps.audit);
  const router = express.Router();
  router.use(securityHeaders);
  // Room for a candidate policy set; nothing else sent here is large.
  router.use(express.json({ limit: 256 * 1024 }));

  const signedIn = (req: Request, res: Response, next: NextFunction) => {
    const session = sessions.find(cookieOf(req));
    if (!session) return void res.status(401).json({ error: 'not signed in (or the sign-in expired)' });
    res.locals.session = session;
    next();
  };
  const withCsrf = (req: Request, res: Response, next: NextFunction) => {
    if (req.get('x-csrf-token') !== (res.locals.session as ConsoleSession).csrf) return void res.status(403).json({ error: 'missing or wrong X-CSRF-Token' });
    next();
  };

  const throttle = signInThrottle(new SignInLimit(settings.signInsPerMinute), deps);
  router.post('/api/session', throttle, (req, res) => void signIn(req, res, deps, sessions));
  if (deps.oidc) mountOidc(router, deps, deps.oidc, sessions, throttle);
  router.get('/api/session', (req, res) => {
    const session = sessions.find(cookieOf(req));
    // Not signed in: the page learns which sign-ins it may offer.
    if (!session) return void res.status(401).json({ error: 'not signed in (or the sign-in expired)', oidc: deps.oidc !== undefined });
    res.json(sessionView(session));
  });
  router.delete('/api/session', signedIn, withCsrf, (_req, res) => {
    const session = res.locals.session as ConsoleSession;
    sessions.close(session.id);
    auditAction(deps.audit, session, 'sign-out');
    res.setHeader('Set-Cookie', cookie(base, '', 0, deps.secure));
    res.status(204).end();
  });
  router.get('/api/overview', signedIn, (_req, res) => void res.json({ ...deps.overview(), calls: stats.summary(), rates: stats.series() }));
  router.get('/api/catalog', signedIn, (req, res) => {
    try {
      res.json(deps.catalog(req.query as Record<string, unknown>));
    } catch (err) {
      res.status(400).json({ error: (err as Error).message });
    }
  });
  router.get('/api/decisions', signedIn, (req, res) => {
    const { id } = res.locals.session as ConsoleSession;
    // A stream lasts as long as its sign-in: after sign-out or expiry it ends.
    streams.serve(req, res, () => sessions.find(id) !== undefined);
  });
  router.post('/api/playground', signedIn, withCsrf, (req, res) => {
    try {
      res.json(deps.playground(req.body, recent));
    } catch (err) {
      res.status(400).json({ error: (err as Error).message });
    }
  });
  router.get('/api/accounts', signedIn, async (req, res) => {
    if (!deps.accounts) return void res.json({ enabled: false, accounts: [] });
    const principal = typeof req.query.principal === 'string' && req.query.principal !== '' ? req.query.principal : undefined;
    res.json({ enabled: true, accounts: await deps.accounts.list(principal) });
  });
  router.delete('/api/accounts', signedIn, withCsrf, async (req, res) => {
    const session = res.locals.session as ConsoleSession;
    if (session.role !== 'admin') return void res.status(403).json({ error: 'only an admin may revoke' });
    const { principal, server } = (req.body ?? {}) as { principal?: unknown; server?: unknown };
    if (!deps.accounts || typeof principal !== 'string' || typeof server !== 'string')
      return void res.status(400).json({ error: 'send { "principal", "server" }' });
    const revoked = await deps.accounts.revoke(principal, server);
    deps.audit.writeEvent({
      type: 'console',
      time: new Date().toISOString(),
      action: 'revoke',
      principal: session.principal.id,
      subject: principal,
      server,
      revoked,
    });
    res.status(revoked ? 200 : 404).json({ principal, server, revoked });
  });
  mountApprovalInbox(router, deps.approvals, signedIn, withCsrf);
  router.use('/assets', express.static(path.join(ASSETS, 'assets'), { maxAge: '1h', index: false }));
  router.get('/', (req, res) => {
    // The page's assets are relative (the console may be mounted anywhere): it must be served at "<path>/".
    if (!req.originalUrl.split('?')[0]!.endsWith('/')) return void res.redirect(301, `${base}/`);
    const page = path.join(ASSETS, 'index.html');
    if (!existsSync(page)) return void res.status(404).json({ error: 'the console page is not installed' });
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(page);
  });
  router.use((_req, res) => void res.status(404).json({ error: 'not found' }));
  app.use(base, router);
}

async function signIn(req: Request, res: Response, deps: ConsoleDeps, sessions: ConsoleSessions): Promise<void> {
  const key = typeof req.body?.apiKey === 'string' ? (req.body.apiKey as string) : '';
  if (key === '') return void res.status(400).json({ error: 'send { "apiKey": "…" }' });
  let principal: Principal;
  try {
    principal = await deps.authenticate({ 'x-api-key': key });
  } catch {
    return void res.status(401).json({ error: 'unknown API key' });
  }
  const session = openSession(principal, deps, sessions, res);
  if (session) res.json(sessionView(session));
}

/** A session for a principal with a console role (cookie set, audited); 403 and undefined otherwise. */
function openSession(principal: Principal, deps: ConsoleDeps, sessions: ConsoleSessions, res: Response): ConsoleSession | undefined {
  const role = roleOf(principal, deps.settings.roles);
  if (!role || principal.kind === 'anonymous') {
    deps.audit.writeEvent({ type: 'console', time: new Date().toISOString(), action: 'sign-in-refused', principal: principal.id });
    res.status(403).json({ error: `${principal.id} has no console role (gateway.console.roles)` });
    return undefined;
  }
  const session = sessions.open(principal, role);
  auditAction(deps.audit, session, 'sign-in');
  res.setHeader('Set-Cookie', cookie(deps.settings.path, session.id, deps.settings.sessionMs, deps.secure));
  return session;
}

/** GET oidc/start sends the browser to the IdP; GET oidc/callback signs in with the access token it brings back. */
function mountOidc(router: express.Router, deps: ConsoleDeps, oidc: OidcSignIn, sessions: ConsoleSessions, throttle: express.RequestHandler): void {
  const base = deps.settings.path;
  const redirectUri = (req: Request) => `${deps.publicUrl?.replace(/\/$/, '') ?? `http://${req.get('host')}`}${base}/oidc/callback`;
  router.get('/oidc/start', throttle, async (req, res) => {
    try {
      res.redirect(302, await oidc.start(redirectUri(req)));
    } catch (err) {
      deps.log.warn('console sign-in through the IdP could not start', { error: (err as Error).message });
      res.status(502).json({ error: 'the IdP cannot be reached' });
    }
  });
  // Every failure goes back to the page, which shows it (#signin-error=…): never a raw error page.
  const failed = (res: Response, message: string) => res.redirect(302, `${base}/#signin-error=${encodeURIComponent(message)}`);
  router.get('/oidc/callback', throttle, async (req, res) => {
    const { code, state } = req.query;
    if (typeof code !== 'string' || typeof state !== 'string') return failed(res, 'the IdP sent no code (the sign-in was refused or cancelled)');
    let principal: Principal;
    try {
      principal = await deps.authenticate({ authorization: `Bearer ${await oidc.finish(code, state)}` });
    } catch (err) {
      return failed(res, (err as Error).message);
    }
    const role = roleOf(principal, deps.settings.roles);
    if (!role) {
      deps.audit.writeEvent({ type: 'console', time: new Date().toISOString(), action: 'sign-in-refused', principal: principal.id });
      return failed(res, `${principal.id} has no console role`);
    }
    if (openSession(principal, deps, sessions, res)) res.redirect(302, `${base}/`);
  });
}

/** 429 with Retry-After once an address has used its sign-in attempts for the minute; audited once per address and minute. */
function signInThrottle(limit: SignInLimit, deps: ConsoleDeps): express.RequestHandler {
  return (req, res, next) => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const verdict = limit.attempt(address);
    if (verdict.ok) return next();
    if (verdict.first) deps.audit.writeEvent({ type: 'console', time: new Date().toISOString(), action: 'sign-in-throttled', address });
    res.setHeader('Retry-After', String(Math.ceil(verdict.retryAfterMs / 1000)));
    res.status(429).json({ error: 'too many sign-in attempts from this address; try again later' });
  };
}

function sessionView(s: ConsoleSession) {
  return { principal: s.principal.id, role: s.role, csrf: s.csrf, expiresAt: new Date(s.expiresAt).toISOString() };
}

function auditAction(audit: AuditSink, session: ConsoleSession, action: string): void {
  audit.writeEvent({ type: 'console', time: new Date().toISOString(), action, principal: session.principal.id, role: session.role });
}

function cookie(base: string, value: string, maxAgeMs: number, secure: boolean): string {
  return `${COOKIE}=${value}; Path=${base}; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeMs / 1000)}${secure ? '; Secure' : ''}`;
}

function cookieOf(req: Request): string | undefined {
  const header = req.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE) return rest.join('=');
  }
  return undefined;
}

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
}

function safeParse(line: string): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return {};
  }
}
