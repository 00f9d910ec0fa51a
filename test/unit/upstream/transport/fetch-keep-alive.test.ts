/**
 * A kept-alive socket the server closes just as the gateway reuses it is the
 * one failure a request may be sent again for: the server never read it.
 * A server that drops every second request on a reused connection stands in
 * for the race between its idle timeout and our reuse.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeepAlive } from '../../../../src/upstream/transport/fetch.js';

let server: net.Server;
const keepAlive = new KeepAlive();
const nodeFetch = keepAlive.fetch;
let url: string;
const seen = { connections: 0, requests: 0, dropped: 0 };
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  server = net.createServer((socket) => {
    sockets.add(socket);
    seen.connections++;
    let answered = 0;
    socket.on('data', () => {
      seen.requests++;
      // A reused connection's next request finds the socket closed under it.
      if (answered > 0) {
        seen.dropped++;
        return void socket.destroy();
      }
      answered++;
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/mcp`;
});

afterAll(async () => {
  // The client's agent keeps its socket open: close it from this side so the server can stop.
  keepAlive.destroy();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('nodeFetch on a kept-alive socket the server closed', () => {
  it('sends the request once more on a fresh socket, and only once', async () => {
    const first = await nodeFetch(url, { method: 'POST', body: '{"n":1}' });
    expect(await first.text()).toBe('{}');
    const second = await nodeFetch(url, { method: 'POST', body: '{"n":2}' });
    expect(await second.text()).toBe('{}');
    expect(seen.dropped).toBeGreaterThanOrEqual(1);
    expect(seen.connections).toBe(seen.requests - seen.dropped);
  });

  it('fails a request refused on a fresh socket as before (fetch failed, with the cause)', async () => {
    const closed = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    const err = await nodeFetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' }).then(
      () => undefined,
      (e: unknown) => e as TypeError & { cause?: { code?: string } },
    );
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(err?.message).toBe('fetch failed');
    expect(err?.cause?.code).toBe('ECONNRESET');
  });
});
