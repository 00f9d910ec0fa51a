/**
 * DNS-rebinding protection for every HTTP request. On a loopback bind the
 * Host header must name loopback (a rebinding page's Host is its own domain);
 * an Origin header, when present, must be loopback, the request's own host,
 * or explicitly allowed. Failures are 403 with a JSON-RPC error body.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { JsonRpc } from '../errors.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export interface OriginSettings {
  listen: { host: string };
  allowedHosts: string[];
  allowedOrigins: string[];
}

/** What is wrong with a request's Host or Origin header, if anything. */
export function hostAndOriginCheck(settings: OriginSettings): (headers: IncomingHttpHeaders) => string | undefined {
  const loopbackBind = LOOPBACK.has(settings.listen.host) || settings.listen.host.startsWith('127.');
  const allowedHosts = new Set(settings.allowedHosts.map((h) => h.toLowerCase()));
  const allowedOrigins = new Set(settings.allowedOrigins.map(normaliseOrigin));
  return (headers) => {
    const host = hostnameOf(headers.host);
    const hostOk = allowedHosts.has(host) || (loopbackBind ? isLoopback(host) : allowedHosts.size === 0);
    if (!hostOk) return `Host '${headers.host ?? ''}' is not allowed`;
    const origin = headers.origin;
    if (origin !== undefined && !originAllowed(origin, host, allowedOrigins)) return `Origin '${origin}' is not allowed`;
    return undefined;
  };
}

export function checkHostAndOrigin(settings: OriginSettings) {
  const problem = hostAndOriginCheck(settings);
  return function hostAndOrigin(req: Request, res: Response, next: NextFunction): void {
    const message = problem(req.headers);
    if (message) return forbid(res, message);
    next();
  };
}

function originAllowed(origin: string, requestHost: string, allowed: Set<string>): boolean {
  if (allowed.has('*') || allowed.has(normaliseOrigin(origin))) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const hostname = url.hostname.toLowerCase();
  return allowed.has(hostname) || isLoopback(hostname) || hostname === requestHost;
}

function isLoopback(hostname: string): boolean {
  return LOOPBACK.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** `example.com:8080` → `example.com`; `[::1]:8080` → `[::1]`. */
function hostnameOf(host: string | undefined): string {
  if (!host) return '';
  const h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.split(':')[0] ?? '';
}

function normaliseOrigin(value: string): string {
  return value.trim().toLowerCase().replace(/\/+$/, '');
}

function forbid(res: Response, message: string): void {
  res.status(403).json({ jsonrpc: '2.0', error: { code: JsonRpc.INVALID_REQUEST, message }, id: null });
}
