/**
 * ModernListener: a burst of subscribes and unsubscribes becomes at most one
 * stream swap in flight and one queued, the queued one carrying every change
 * asked for meanwhile; each caller resolves once a swap that includes its
 * change is done, and the last filter asked for is the one in force.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Client, ServerCapabilities } from '@modelcontextprotocol/client';
import { ModernListener } from '../../../src/upstream/listen.js';
import { createLogger } from '../../../src/observability/log.js';

/** A client whose listen() is acknowledged a turn later, like a round trip; it records every filter and every close. */
function fakeClient() {
  const filters: Record<string, unknown>[] = [];
  let open = 0;
  const client = {
    async listen(filter: Record<string, unknown>) {
      filters.push(filter);
      await turn();
      open++;
      return { close: async () => void open-- };
    },
  };
  return { client: client as unknown as Client, filters, open: () => open };
}

const capabilities: ServerCapabilities = { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true } };
const log = createLogger({ level: 'error', write: () => {} });
const watched = (filter: Record<string, unknown> | undefined) => (filter?.resourceSubscriptions ?? []) as string[];

describe('ModernListener', () => {
  it('turns a burst of 100 subscribes into two swaps, each caller resolving once its resource is watched', async () => {
    const fake = fakeClient();
    const listener = new ModernListener(fake.client, capabilities, log);
    await listener.start();
    expect(fake.filters).toHaveLength(1);

    const late: string[] = [];
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const uri = `file:///r${i}`;
        return listener.subscribe(uri).then(() => {
          if (!watched(fake.filters.at(-1)).includes(uri)) late.push(uri);
        });
      }),
    );
    expect(late).toEqual([]);
    expect(fake.filters).toHaveLength(3); // start, the first subscribe's swap, one more for the other 99
    expect(fake.filters.at(-1)).toMatchObject({ toolsListChanged: true, resourcesListChanged: true });
    expect(watched(fake.filters.at(-1))).toHaveLength(100);
    // Old streams are closed once their replacement is acknowledged: one open.
    expect(fake.open()).toBe(1);
    await listener.close();
    expect(fake.open()).toBe(0);
  });

  it('applies the last filter asked for when subscribes and unsubscribes interleave', async () => {
    const fake = fakeClient();
    const listener = new ModernListener(fake.client, capabilities, log);
    await listener.start();
    await Promise.all([listener.subscribe('file:///a'), listener.subscribe('file:///b'), listener.unsubscribe('file:///a'), listener.subscribe('file:///c')]);
    expect(fake.filters).toHaveLength(3);
    expect(watched(fake.filters.at(-1))).toEqual(['file:///b', 'file:///c']);
    await listener.close();
  });
});
