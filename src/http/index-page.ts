/**
 * `GET /`: what someone who opens the gateway's address finds: its name and
 * version, the MCP endpoint path(s), the probes, `/metrics` when this
 * listener serves it, the console's path when it is on, and where the docs
 * are, as JSON. Mounted after the Host/Origin check like every page but the
 * probes; it needs no credential and tells nothing a client of the endpoint
 * would not learn (no keys, no servers, no settings). Not mounted when an
 * MCP endpoint is `/` itself.
 */
import type { Express } from 'express';
import { packageInfo } from '../infra/package-info.js';

export interface IndexPageOptions {
  /** The settings the front was given (the console's, when present, say where it is). */
  settings: { path: string; console?: { enabled: boolean; path: string } };
  /** Set when this listener serves `/metrics`. */
  metrics?: unknown;
  /** Set when the console is mounted. */
  console?: unknown;
}

interface Endpoint {
  path: string;
  ssePath: string;
  view: { profile?: string };
}

export function mountIndexPage(app: Express, endpoints: readonly Endpoint[], options: IndexPageOptions): void {
  if (endpoints.some((e) => e.path === '/')) return;
  const pkg = packageInfo();
  const body = {
    name: 'switchboard',
    version: pkg.version,
    mcp: endpoints.map((e) => ({ path: e.path, ...(e.view.profile ? { profile: e.view.profile } : {}), legacySse: e.ssePath })),
    healthz: '/healthz',
    readyz: '/readyz',
    ...(options.metrics ? { metrics: '/metrics' } : {}),
    ...(options.console ? { console: options.settings.console?.path ?? '/console' } : {}),
    docs: pkg.docs,
  };
  app.get('/', (_req, res) => void res.set('Cache-Control', 'no-store').json(body));
}
