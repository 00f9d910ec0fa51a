/** How a bearer JWT is refused: one error code, with a reason the caller and the logs can tell apart. */
import { GatewayError } from '../core/errors.js';

/** `data.reason` of the UNAUTHENTICATED errors the JWT verifier throws. */
export type JwtFailureReason =
  | 'malformed' // not a JWS compact token, or its header/payload is not JSON
  | 'invalid' // algorithm not allowed, a required claim missing or unusable (exp, nbf, the id claim)
  | 'signature' // no key of the issuer matches, or the signature is wrong
  | 'expired'
  | 'issuer'
  | 'audience'
  | 'unavailable'; // the issuer's keys could not be fetched

/** Messages say what is wrong, never what the token contained. */
export function jwtFailure(reason: JwtFailureReason, message: string, cause?: unknown): GatewayError {
  return new GatewayError('UNAUTHENTICATED', message, { reason }, cause === undefined ? undefined : { cause });
}
