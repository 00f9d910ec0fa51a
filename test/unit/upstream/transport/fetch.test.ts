/**
 * The upstream fetch on node:http: what the SDK's transports rely on from
 * `fetch` (status, headers, a streamed body, abort, undici's error shape for a
 * refused connection, no redirect following).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeepAlive } from '../../../../src/upstream/transport/fetch.js';
import { freePort } from '../../../helpers/processes.js';

let server: Server;
const keepAlive = new KeepAlive();
const nodeFetch = keepAlive.fetch;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/echo') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () =>
        res.writeHead(200, { 'content-type': 'application/json', 'x-seen': req.headers['x-test'] ?? '' }).end(JSON.stringify({ method: req.method, body })),
      );
    } else if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      setTimeout(() => res.end('data: two\n\n'), 50);
    } else if (req.url === '/hang') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
    } else if (req.url === '/port') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(String(req.socket.remotePort));
    } else if (req.url === '/moved') {
      res.writeHead(307, { location: '/echo' }).end();
    } else res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  keepAlive.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('nodeFetch', () => {
  it('sends method, headers and a string body, and returns status, headers and body', async () => {
    const res = await nodeFetch(`${base}/echo`, { method: 'POST', headers: { 'x-test': 'yes', 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-seen')).toBe('yes');
    expect(await res.json()).toEqual({ method: 'POST', body: '{"a":1}' });
  });

  it('streams a body as it arrives', async () => {
    const res = await nodeFetch(new URL(`${base}/stream`));
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    expect(first.value).toContain('data: one');
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value;
    expect(rest).toContain('data: two');
  });

  it('gives an empty body for 204 and does not follow redirects', async () => {
    expect((await nodeFetch(`${base}/none`)).body).toBeNull();
    const moved = await nodeFetch(`${base}/moved`, { redirect: 'manual' });
    expect(moved.status).toBe(307);
    expect(moved.headers.get('location')).toBe('/echo');
  });

  it("aborts a request in flight with the signal's reason", async () => {
    const controller = new AbortController();
    const res = await nodeFetch(`${base}/hang`, { signal: controller.signal });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain(': open');
    const next = reader.read();
    controller.abort(new Error('gave up'));
    await expect(next).rejects.toThrow();
    await expect(nodeFetch(`${base}/echo`, { signal: controller.signal })).rejects.toThrow('gave up');
  });

  it("rejects a refused connection like undici: TypeError with the cause's code", async () => {
    const port = await freePort();
    const err = await nodeFetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(((err as Error).cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('hands what it does not cover to the global fetch', async () => {
    const res = await nodeFetch(`${base}/echo`, { method: 'POST', body: new URLSearchParams({ a: '1' }) });
    expect(await res.json()).toEqual({ method: 'POST', body: 'a=1' });
  });

  it('reuses its own kept-alive socket, and never another instance’s (two gateways in one process share none)', async () => {
    const portOf = async (sockets: KeepAlive) => (await sockets.fetch(`${base}/port`)).text();
    const other = new KeepAlive();
    try {
      const first = await portOf(keepAlive);
      expect(await portOf(keepAlive)).toBe(first);
      expect(await portOf(other)).not.toBe(first);
    } finally {
      other.destroy();
    }
  });
});
