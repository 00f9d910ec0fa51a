import { InsecureTokenEndpointError } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { refusalOf } from '../../../src/credentials/id-jag-errors.js';

describe('refusalOf: what a caller is told of a failed ID-JAG leg', () => {
  it("keeps the OAuth error code and drops the server's description (it may echo what was sent)", () => {
    expect(refusalOf(new Error('Token exchange failed: access_denied - subject eyJhbGciOi… is not allowed'))).toBe('access_denied');
    expect(refusalOf(new Error('JWT grant exchange failed: invalid_grant - the ID-JAG is invalid: "exp" claim timestamp check failed'))).toBe('invalid_grant');
    expect(refusalOf(new Error('JWT grant exchange failed: invalid_client'))).toBe('invalid_client');
  });

  it('says the HTTP status when the answer was no OAuth error', () => {
    expect(refusalOf(new Error('Token exchange failed with status 502: {"oops":"<html>"}'))).toBe('HTTP 502');
  });

  it('names the kind of failure otherwise', () => {
    expect(refusalOf(new Error('Invalid token exchange response: issued_token_type: Invalid input'))).toBe('an answer that is not a token response');
    expect(refusalOf(new InsecureTokenEndpointError('http://idp.example.com/token'))).toBe('its token endpoint is not https');
    expect(refusalOf(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe('no answer in time');
    expect(refusalOf(new TypeError('fetch failed'))).toBe('unreachable');
    expect(refusalOf('nonsense')).toBe('unreachable');
  });
});
