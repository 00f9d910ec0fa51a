/**
 * Serves the merged catalog over this process's stdin/stdout, so a desktop
 * client can launch the gateway as one local server. Both eras: a 2025-era
 * opening pins one session for the connection; 2026-07-28 requests are
 * served statelessly. Nothing but protocol may reach stdout.
 */
import type { Readable } from 'node:stream';
import { serveStdio, StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import type { Principal } from '../core/principal.js';
import { WHOLE_CATALOG, type View } from '../pipeline/view.js';
import type { Hub } from '../session/hub.js';
import type { SessionState } from '../session/server.js';
import { guardStdin } from './guard.js';

export interface StdioFront {
  /** Resolves when the client closes stdin. */
  closed: Promise<void>;
  close(): Promise<void>;
}

/** This process's client, before and while it is served. */
export interface StdioClient {
  /** Resolves when the client closes stdin (EOF), whether or not it is served yet. */
  closed: Promise<void>;
  /** Starts answering it: what it sent meanwhile was kept, and is answered now. */
  serve(hub: Hub, principal: Principal, view?: View): StdioFront;
}

/**
 * Starts reading stdin (through the guard) at once, so that a client that
 * goes away while the upstreams are still coming up is seen going: stdin's
 * end is only reported once what came before it has been read. What it
 * sends meanwhile waits in the guard's buffers (bounded: stdin is paused
 * when they are full) until `serve`.
 */
export function openStdio(): StdioClient {
  const input = process.stdin.pipe(guardStdin(answerOnStdout));
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  process.stdin.once('end', onClosed);
  process.stdin.once('close', onClosed);
  return { closed, serve: (hub, principal, view = WHOLE_CATALOG) => serveOn(input, closed, hub, principal, view) };
}

/** Reads and serves at once. */
export function serveOverStdio(hub: Hub, principal: Principal, view: View = WHOLE_CATALOG): StdioFront {
  return openStdio().serve(hub, principal, view);
}

function serveOn(input: Readable, closed: Promise<void>, hub: Hub, principal: Principal, view: View): StdioFront {
  const profile = view.profile;
  const handle = serveStdio(
    ({ era }) => {
      if (era === 'modern') {
        return hub.createServer({ info: { id: 'stdio-modern', transport: 'stdio', era: 'modern', profile }, principal, view });
      }
      const state: SessionState = { info: { id: 'stdio', transport: 'stdio', era: 'legacy', profile }, principal, view };
      const server = hub.createServer(state);
      hub.register(state.info, server, state, async () => {});
      return server;
    },
    // Lines that are not one JSON-RPC message are answered by the guard rather than dropped by the SDK's reader.
    { legacy: 'serve', transport: new StdioServerTransport(input, process.stdout) },
  );
  return {
    closed,
    async close() {
      await handle.close().catch(() => {});
    },
  };
}

function answerOnStdout(error: { code: number; message: string }, id: string | number | null): void {
  process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id, error })}\n`);
}
