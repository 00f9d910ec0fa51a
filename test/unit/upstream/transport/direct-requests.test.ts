import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { DirectRequestError, DirectRequests, MAX_DIRECT_IN_FLIGHT } from '../../../../src/upstream/transport/direct-requests.js';

/** A wire that records what is sent and lets the test deliver messages and close it. */
function fakeWire() {
  const sent: JSONRPCMessage[] = [];
  const wire: Transport = {
    start: async () => {},
    send: async (message) => void sent.push(message),
    close: async () => wire.onclose?.(),
  };
  return { wire, sent, deliver: (message: JSONRPCMessage) => wire.onmessage?.(message) };
}

describe('direct requests', () => {
  it('take their own answers off the wire and pass everything else to the client', async () => {
    const { wire, sent, deliver } = fakeWire();
    const layer = new DirectRequests(wire);
    const seen: JSONRPCMessage[] = [];
    layer.onmessage = (m) => void seen.push(m);
    const pending = layer.request({ method: 'tasks/get', params: { taskId: 't' } }, { timeoutMs: 1_000 });
    const id = (sent[0] as { id: string }).id;
    expect(typeof id).toBe('string');
    deliver({ jsonrpc: '2.0', id: 7, result: {} });
    deliver({ jsonrpc: '2.0', id, result: { resultType: 'complete', status: 'working' } });
    await expect(pending).resolves.toMatchObject({ id, result: { status: 'working' } });
    // The client's own answer (numeric id) went to the client; the direct one did not.
    expect(seen).toEqual([{ jsonrpc: '2.0', id: 7, result: {} }]);
  });

  it('fail when the connection closes, when no answer comes in time, and when too many are in flight', async () => {
    const { wire } = fakeWire();
    const layer = new DirectRequests(wire);
    const closing = layer.request({ method: 'tasks/get' }, { timeoutMs: 60_000 });
    await wire.close();
    await expect(closing).rejects.toMatchObject({ kind: 'closed' });

    const quiet = new DirectRequests(fakeWire().wire);
    await expect(quiet.request({ method: 'tasks/get' }, { timeoutMs: 1 })).rejects.toBeInstanceOf(DirectRequestError);

    const busy = new DirectRequests(fakeWire().wire);
    const held = Array.from({ length: MAX_DIRECT_IN_FLIGHT }, () => busy.request({ method: 'tasks/get' }, { timeoutMs: 60_000 }).catch(() => {}));
    await expect(busy.request({ method: 'tasks/get' }, { timeoutMs: 60_000 })).rejects.toMatchObject({ kind: 'busy' });
    await busy.close();
    await Promise.all(held);
  });

  it('stop waiting when the caller aborts', async () => {
    const layer = new DirectRequests(fakeWire().wire);
    const controller = new AbortController();
    const pending = layer.request({ method: 'tasks/get' }, { timeoutMs: 60_000, signal: controller.signal });
    controller.abort(new Error('client went away'));
    await expect(pending).rejects.toThrow('client went away');
  });
});
