/**
 * `gateway.auth` (API keys and bearer JWTs) and the principal shape it and
 * `gateway.stdioPrincipal` share. Keys in a config file are public only: a
 * private or symmetric key fails at load, with its path.
 */
import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { HttpUrl, PositiveMs, StringList } from './primitives.js';

export const PrincipalSchema = z.strictObject({
  id: z.string().min(1),
  scopes: StringList,
  groups: StringList,
});

/** Signature algorithms a gateway may accept: asymmetric only (no HS*, no "none"). */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export const DEFAULT_JWT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA', 'PS256'] as const;

const NonEmptyList = z.array(z.string().min(1)).min(1);
/** One claim name, or several whose values are merged. */
const ClaimNames = z.union([z.string().min(1), NonEmptyList]);

/** A public JWK; a private or symmetric key has no place in a config file. */
const PublicJwk = z.looseObject({ kty: z.string().min(1) }).refine((jwk) => jwk.kty !== 'oct' && !('d' in jwk), {
  error: 'must be a public key: a symmetric ("oct") or private ("d") JWK is not accepted',
});
/** A PEM public key (SPKI, PKCS#1 or an X.509 certificate); checked here so a bad key fails at load with its path. */
const PemPublicKey = z.string().superRefine((pem, ctx) => {
  if (/PRIVATE KEY/.test(pem)) {
    ctx.addIssue({ code: 'custom', message: 'must be a public key, not a private key' });
    return;
  }
  try {
    createPublicKey(pem);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a PEM public key ("-----BEGIN PUBLIC KEY-----" …)' });
  }
});

export const JwtSchema = z
  .strictObject({
    issuer: z.string().min(1).describe('Expected "iss" claim.'),
    audience: z
      .union([z.string().min(1), NonEmptyList])
      .optional()
      .describe('Accepted "aud" values (default: auth.resource, else the gateway\'s own URL).'),
    jwksUri: HttpUrl.optional().describe('JWKS of the issuer. Exactly one of jwksUri and publicKeys.'),
    publicKeys: z
      .array(z.union([PemPublicKey, PublicJwk]))
      .min(1)
      .optional()
      .describe('Static verification keys: public JWKs or PEM strings. Exactly one of jwksUri and publicKeys.'),
    algorithms: z
      .array(z.enum(JWT_ALGORITHMS))
      .min(1)
      .default([...DEFAULT_JWT_ALGORITHMS])
      .describe('Accepted "alg" values.'),
    clockToleranceSec: z.int().min(0).default(60).describe('Allowed clock skew for exp/nbf.'),
    claims: z
      .strictObject({
        id: z.string().min(1).default('sub').describe('Claim holding the principal id.'),
        scopes: ClaimNames.default(['scope', 'scp']).describe('Claim(s) holding scopes: a space-separated string or an array.'),
        groups: ClaimNames.default('groups').describe('Claim(s) holding groups: an array (or a single string).'),
      })
      .prefault({}),
    authorizationServers: z.array(HttpUrl).min(1).optional().describe('Authorization servers named in the protected-resource metadata (default: [issuer]).'),
    scopesSupported: StringList.describe('scopes_supported of the protected-resource metadata.'),
    jwksCacheMaxAgeMs: PositiveMs.default(600000).describe('How long a fetched JWKS is used before it is refetched.'),
    jwksCooldownMs: z.int().min(0).default(30000).describe('Minimum time between JWKS refetches triggered by an unknown "kid".'),
  })
  .superRefine((jwt, ctx) => {
    if ((jwt.jwksUri === undefined) === (jwt.publicKeys === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['jwksUri'],
        message: jwt.jwksUri === undefined ? 'one of "jwksUri" and "publicKeys" is required' : '"jwksUri" and "publicKeys" cannot both be set',
      });
    }
  })
  .transform((jwt): JwtSettings => ({ ...jwt, authorizationServers: jwt.authorizationServers ?? [jwt.issuer] }));

export const AuthSchema = z.looseObject({
  required: z.boolean().optional(),
  resource: HttpUrl.refine((u) => !u.includes('#'), { error: 'must not have a fragment' })
    .optional()
    .describe('Canonical URL clients use for this gateway (e.g. https://gw.example.com/mcp): the default JWT audience and the metadata "resource".'),
  apiKeys: z
    .array(
      z.looseObject({
        id: z.string().min(1),
        sha256: z.string().min(1).describe('Output of `switchboard hash-key`.'),
        scopes: StringList,
        groups: StringList,
      }),
    )
    .default([]),
  jwt: JwtSchema.optional().describe('Bearer JWTs (OAuth access tokens) from an authorization server.'),
});

export interface PrincipalSpec {
  id: string;
  scopes: string[];
  groups: string[];
}

export interface ApiKeySpec extends PrincipalSpec {
  sha256: string;
  [extra: string]: unknown;
}

export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** A JWK as it appears in a config file (public members only). */
export interface PublicJwkSpec {
  kty: string;
  [member: string]: unknown;
}

/** `gateway.auth.jwt`, defaults applied. */
export interface JwtSettings {
  issuer: string;
  /** Absent: the gateway's canonical resource URL. */
  audience?: string | string[];
  /** Exactly one of jwksUri and publicKeys. */
  jwksUri?: string;
  /** JWK objects or PEM strings. */
  publicKeys?: Array<string | PublicJwkSpec>;
  algorithms: JwtAlgorithm[];
  clockToleranceSec: number;
  claims: { id: string; scopes: string | string[]; groups: string | string[] };
  /** Defaulted to [issuer]. */
  authorizationServers: string[];
  scopesSupported: string[];
  jwksCacheMaxAgeMs: number;
  jwksCooldownMs: number;
}

export interface AuthSettings {
  required?: boolean;
  /** Canonical URL clients use for the gateway, e.g. https://gw.example.com/mcp. */
  resource?: string;
  apiKeys: ApiKeySpec[];
  jwt?: JwtSettings;
  [extra: string]: unknown;
}
