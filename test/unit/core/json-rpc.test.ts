import { describe, expect, it } from 'vitest';
import { isJsonRpcMessage, isRoutedMethod, ROUTED_METHODS } from '../../../src/core/json-rpc.js';

describe('the routed-method table', () => {
  it('routes exactly the methods that reach an upstream', () => {
    expect([...ROUTED_METHODS].sort()).toEqual([
      'completion/complete',
      'prompts/get',
      'resources/read',
      'resources/subscribe',
      'resources/unsubscribe',
      'tools/call',
    ]);
    expect(isRoutedMethod('tools/call')).toBe(true);
  });

  it('does not route lists, the gateway’s own methods, or other spellings', () => {
    for (const method of ['tools/list', 'initialize', 'ping', 'logging/setLevel', 'Tools/Call', 'tools/call ', 'tools/call/x', ''])
      expect(isRoutedMethod(method)).toBe(false);
  });
});

describe('isJsonRpcMessage', () => {
  it('accepts requests, notifications and responses', () => {
    expect(isJsonRpcMessage({ jsonrpc: '2.0', id: 1, method: 'ping' })).toBe(true);
    expect(isJsonRpcMessage({ jsonrpc: '2.0', method: 'notifications/initialized' })).toBe(true);
    expect(isJsonRpcMessage({ jsonrpc: '2.0', id: 'a', result: {} })).toBe(true);
    expect(isJsonRpcMessage({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'x' } })).toBe(true);
  });

  it('refuses other shapes: wrong version, array params, fractional ids, array results', () => {
    expect(isJsonRpcMessage({ jsonrpc: '1.0', id: 1, method: 'ping' })).toBe(false);
    expect(isJsonRpcMessage({ jsonrpc: '2.0', id: 1, method: 'ping', params: [] })).toBe(false);
    expect(isJsonRpcMessage({ jsonrpc: '2.0', id: 1.5, method: 'ping' })).toBe(false);
    expect(isJsonRpcMessage({ jsonrpc: '2.0', id: 1, result: [] })).toBe(false);
    expect(isJsonRpcMessage([{ jsonrpc: '2.0', id: 1, method: 'ping' }])).toBe(false);
  });
});
