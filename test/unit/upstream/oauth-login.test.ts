import { IssuerMismatchError, type OAuthDiscoveryState } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { checkResponseIssuer } from '../../../src/upstream/oauth-login.js';

const ISSUER = 'https://as.example.com';
const discovery = (advertised: boolean): OAuthDiscoveryState =>
  ({
    authorizationServerUrl: ISSUER,
    authorizationServerMetadata: {
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/auth`,
      token_endpoint: `${ISSUER}/token`,
      response_types_supported: ['code'],
      ...(advertised ? { authorization_response_iss_parameter_supported: true } : {}),
    },
  }) as OAuthDiscoveryState;

describe('checkResponseIssuer (RFC 9207)', () => {
  it('accepts the issuer the request went to, advertised or not', () => {
    expect(() => checkResponseIssuer(discovery(true), ISSUER)).not.toThrow();
    expect(() => checkResponseIssuer(discovery(false), ISSUER)).not.toThrow();
  });

  it('refuses another issuer, even one that differs only by a trailing slash', () => {
    for (const iss of ['https://evil.example.com', `${ISSUER}/`, '']) {
      expect(() => checkResponseIssuer(discovery(true), iss)).toThrow(IssuerMismatchError);
      expect(() => checkResponseIssuer(discovery(false), iss)).toThrow(IssuerMismatchError);
    }
  });

  it('refuses a missing iss where the authorization server advertises it, and lets it pass where it does not', () => {
    expect(() => checkResponseIssuer(discovery(true), null)).toThrow(IssuerMismatchError);
    expect(() => checkResponseIssuer(discovery(false), null)).not.toThrow();
  });
});
