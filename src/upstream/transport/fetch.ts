/**
 * The `fetch` the SDK's HTTP client transports use towards upstreams, on
 * `node:http`/`node:https` with keep-alive agents instead of undici's
 * `fetch`. Every forwarded call makes at least one request, and undici's
 * Request objects, body streams, signal cloning and tees cost about a fifth of
 * the gateway's CPU per call (bench/profile.mjs http); this does only what the
 * transports need: string bodies, response headers, a streamed body, abort.
 *
 * Redirects are not followed: the SDK asks for `redirect: "manual"` and
 * follows same-origin ones itself. Anything this does not cover (a Request
 * object, a non-string body) goes to the global `fetch`. A failure to connect
 * rejects like undici: `TypeError('fetch failed', { cause })`, so callers can
 * read `cause.code`.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

/**
 * The keep-alive sockets towards upstreams. One per gateway (UpstreamCaches),
 * not per process: two gateways in one process never share a socket. Its
 * end is the end of the gateway's upstream side: `stopped` tells connects
 * still in progress to give up (connect.ts).
 */
export class KeepAlive {
  private readonly ending = new AbortController();
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
  };

  /** `fetch` on these sockets (see the file comment). */
  readonly fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => nodeFetch(this, input, init);

  /** Whether `url` is one these agents serve (http: or https:). */
  serves(url: URL): boolean {
    return url.protocol in this.agents;
  }

  /** A request to `url` on these agents (http: or https: only). */
  request(url: URL, options: http.RequestOptions, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const client = url.protocol === 'https:' ? https : http;
    return client.request(url, { ...options, agent: this.agents[url.protocol as 'http:' | 'https:'] }, onResponse);
  }

  /** Aborted by destroy(): the gateway has stopped. */
  get stopped(): AbortSignal {
    return this.ending.signal;
  }

  /** The gateway has stopped: closes every socket (a request still running fails) and aborts `stopped`. */
  destroy(): void {
    this.ending.abort(new Error('the gateway stopped'));
    for (const agent of Object.values(this.agents)) agent.destroy();
  }
}

/**
 * Whether a request failed only because it went out on a kept-alive socket
 * the server had just closed (its idle timeout raced our reuse): nothing was
 * answered, the server did not read the request, so sending it once more on
 * a fresh socket is what Node's documentation prescribes.
 */
export function staleKeepAlive(req: http.ClientRequest, err: unknown, responded: boolean): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return !responded && req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE');
}

export function nodeFetch(sockets: KeepAlive, input: string | URL | Request, init: RequestInit = {}, retried = false): Promise<Response> {
  const body = init.body;
  const url = typeof input === 'string' ? new URL(input) : input instanceof URL ? input : undefined;
  if (!url || (body !== undefined && body !== null && typeof body !== 'string') || !sockets.serves(url)) return fetch(input, init);
  const signal = init.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = sockets.request(url, { method: init.method ?? 'GET', headers: headersOf(init.headers) }, (res) => {
      responded = true;
      const status = res.statusCode ?? 0;
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
      }
      const empty = status === 204 || status === 304 || init.method === 'HEAD';
      if (empty) res.resume();
      resolve(new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage, headers }));
    });
    const onAbort = () => req.destroy(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => signal?.removeEventListener('abort', onAbort));
    req.once('error', (err) => {
      if (!retried && !signal?.aborted && staleKeepAlive(req, err, responded)) return resolve(nodeFetch(sockets, input, init, true));
      reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err }));
    });
    req.end(body ?? undefined);
  });
}

function headersOf(init: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(init).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}
