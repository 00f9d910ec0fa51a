/**
 * Serves the merged catalog over this process's stdin/stdout, so a desktop
 * client can launch the gateway as one local server. Both eras: a 2025-era
 * opening pins one session for the connection; 2026-07-28 requests are
 * served statelessly. Nothing but protocol may reach stdout.
 */
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

export function serveOverStdio(hub: Hub, principal: Principal, view: View = WHOLE_CATALOG): StdioFront {
  const profile = view.profile;
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
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
    {
      legacy: 'serve',
      // Lines that are not one JSON-RPC message are answered here rather than dropped by the SDK's reader.
      transport: new StdioServerTransport(process.stdin.pipe(guardStdin(answerOnStdout)), process.stdout),
    },
  );
  process.stdin.once('end', onClosed);
  process.stdin.once('close', onClosed);
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
