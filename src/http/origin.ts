/**
 * DNS-rebinding protection for every HTTP request. On a loopback bind the
 * Host header must name loopback (a rebinding page's Host is its own domain);
 * an Origin header, when present, must be loopback, the request's own host,
 * or explicitly allowed. Failures are 403 (400 for a Host header that is not
 * a host at all) with a JSON-RPC error body.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { JsonRpc } from '../core/errors.js';
import { refusal, sendRefusal } from './responses.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export interface OriginSettings {
  listen: { host: string };
  allowedHosts: string[];
  allowedOrigins: string[];
}

/** Why a request's Host or Origin header is refused: 400 for a Host that is not a host, 403 for one not allowed. */
export interface HostProblem {
  status: 400 | 403;
  message: string;
}

/**
 * A Host header as RFC 9110 allows it: a name, an IPv4 address or a bracketed
 * IPv6 address, and an optional numeric port. Anything else (`localhost:abc`,
 * `localhost:1@evil.com`) is not a host, and must not be read as one.
 */
const HOST_SYNTAX = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.?)(?::\d{1,5})?$/i;

export function isLoopbackBind(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

/** What is wrong with a request's Host or Origin header, if anything. */
export function hostAndOriginCheck(settings: OriginSettings): (headers: IncomingHttpHeaders) => HostProblem | undefined {
  const loopbackBind = isLoopbackBind(settings.listen.host);
  const allowedHosts = new Set(settings.allowedHosts.map((h) => h.toLowerCase()));
  const allowedOrigins = new Set(settings.allowedOrigins.map(normaliseOrigin));
  return (headers) => {
    if (headers.host !== undefined && !HOST_SYNTAX.test(headers.host)) return { status: 400, message: 'Malformed Host header' };
    const host = hostnameOf(headers.host);
    const hostOk = allowedHosts.has(host) || (loopbackBind ? isLoopback(host) : allowedHosts.size === 0);
    if (!hostOk) return { status: 403, message: `Host '${headers.host ?? ''}' is not allowed` };
    const origin = headers.origin;
    if (origin !== undefined && !originAllowed(origin, host, allowedOrigins)) return { status: 403, message: `Origin '${origin}' is not allowed` };
    return undefined;
  };
}

export function checkHostAndOrigin(settings: OriginSettings) {
  const problem = hostAndOriginCheck(settings);
  return function hostAndOrigin(req: Request, res: Response, next: NextFunction): void {
    const found = problem(req.headers);
    if (found) return refuse(res, found);
    next();
  };
}

/** The Host/Origin check for health and metrics endpoints: on a loopback bind only (see front.ts). */
export function probeGuard(settings: OriginSettings) {
  const check = checkHostAndOrigin(settings);
  return isLoopbackBind(settings.listen.host) ? check : (_req: Request, _res: Response, next: NextFunction) => next();
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

function refuse(res: Response, problem: HostProblem): void {
  sendRefusal(res, refusal(problem.status, JsonRpc.INVALID_REQUEST, problem.message));
}
