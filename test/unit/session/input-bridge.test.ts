/**
 * Parked calls of 2026-07-28 clients: a retry resumes the call it names, and
 * only for the principal that started it; on a fleet, a retry that reaches
 * another replica says where the call lives.
 */
import { describe, expect, it } from 'vitest';
import { InputBridge } from '../../../src/session/input-bridge.js';
import { GatewayError } from '../../../src/core/errors.js';

const never = new AbortController().signal;

/** Starts a call that asks its client one question and returns the answer. */
async function park(bridge: InputBridge, principal = 'alice') {
  const first = (await bridge.run(principal, { signal: never }, async (call) => {
    const answer = await call.ask({ method: 'elicitation/create', params: { message: 'name?' } });
    return { content: [{ type: 'text', text: JSON.stringify(answer) }] };
  })) as { resultType: string; requestState: string; inputRequests: Record<string, unknown> };
  expect(first.resultType).toBe('input_required');
  return first;
}

describe('InputBridge', () => {
  it("resumes a parked call with the client's answers", async () => {
    const bridge = new InputBridge('r1');
    const first = await park(bridge);
    expect(first.requestState).toMatch(/^r1\./);
    const [key] = Object.keys(first.inputRequests);
    const done = await bridge.run(
      'alice',
      { state: first.requestState, inputResponses: { [key!]: { action: 'accept', content: { name: 'Ada' } } }, signal: never },
      () => {
        throw new Error('a resumed call must not start again');
      },
    );
    expect(done).toEqual({ content: [{ type: 'text', text: JSON.stringify({ action: 'accept', content: { name: 'Ada' } }) }] });
  });

  it("refuses another principal's requestState as unknown", async () => {
    const bridge = new InputBridge();
    const first = await park(bridge);
    const err = await bridge.run('mallory', { state: first.requestState, signal: never }, async () => ({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).message).toContain('unknown or expired');
  });

  it('names the replica that holds the call when a retry reaches another one', async () => {
    const first = await park(new InputBridge('r1'));
    const err = await new InputBridge('r2').run('alice', { state: first.requestState, signal: never }, async () => ({})).catch((e: unknown) => e);
    expect((err as GatewayError).code).toBe('INVALID_PARAMS');
    expect((err as GatewayError).message).toContain('parked on replica r1');
  });
});
