/**
 * The clientInfo bound: a small one passes as sent; an oversized one keeps
 * name, version and title within 1 KiB serialized, whatever the characters.
 */
import { describe, expect, it } from 'vitest';
import { boundClientInfo, MAX_CLIENT_INFO_BYTES } from '../../../src/http/client-info.js';

const initialize = (clientInfo: unknown) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo },
});
const infoOf = (body: unknown) => (body as { params: { clientInfo: Record<string, unknown> } }).params.clientInfo;
const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('boundClientInfo', () => {
  it('passes a clientInfo within the bound through as it is', () => {
    const body = initialize({ name: 'claude-code', version: '2.1.0', title: 'Claude Code', icons: [{ src: 'https://x/i.png' }] });
    expect(boundClientInfo(body)).toBe(body);
  });

  it('keeps only name, version and title of an oversized clientInfo, within the bound', () => {
    const body = initialize({
      name: 'padded',
      version: '1',
      title: 'T',
      description: 'x'.repeat(4000),
      icons: [{ src: `data:image/png;base64,${'A'.repeat(3000)}` }],
    });
    const bounded = boundClientInfo(body);
    expect(infoOf(bounded)).toEqual({ name: 'padded', version: '1', title: 'T' });
    // The rest of the message is untouched.
    expect({ ...(bounded as object), params: { ...(bounded as { params: object }).params, clientInfo: null } }).toEqual({
      ...body,
      params: { ...body.params, clientInfo: null },
    });
  });

  it('cuts long fields so the whole stays within the bound, even when every character costs several bytes', () => {
    for (const unit of ['n', 'é', '😀', '\u0001', '"']) {
      const info = infoOf(boundClientInfo(initialize({ name: unit.repeat(2000), version: unit.repeat(2000), title: unit.repeat(2000) })));
      expect(bytes(info), JSON.stringify(unit)).toBeLessThanOrEqual(MAX_CLIENT_INFO_BYTES);
      expect((info.name as string).length).toBeGreaterThan(0);
      expect((info.name as string).startsWith(unit)).toBe(true);
      // Whole code points only: no lone surrogate is left at the end.
      expect(/[\uD800-\uDBFF]$/.test(info.name as string)).toBe(false);
    }
  });

  it('leaves a missing or non-string name for the SDK to reject', () => {
    expect(infoOf(boundClientInfo(initialize({ name: { nested: 'x'.repeat(2000) }, version: '1' })))).toEqual({ version: '1' });
  });

  it('leaves other messages alone, and bounds an initialize inside a batch', () => {
    const call = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x', arguments: { clientInfo: 'y'.repeat(5000) } } };
    expect(boundClientInfo(call)).toBe(call);
    const batch = [call];
    expect(boundClientInfo(batch)).toBe(batch);
    const mixed = boundClientInfo([initialize({ name: 'a', version: '1', description: 'z'.repeat(2000) }), call]) as unknown[];
    expect(infoOf(mixed[0])).toEqual({ name: 'a', version: '1' });
    expect(mixed[1]).toBe(call);
  });
});
