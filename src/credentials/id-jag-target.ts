/**
 * Where an "id-jag" server's ID-JAGs are redeemed: the upstream's
 * authorization server (its issuer is the ID-JAG's audience, its token
 * endpoint takes the jwt-bearer grant) and the resource the upstream names.
 * Configured (`idJag.authorizationServer`), or found through the upstream
 * (RFC 9728, then RFC 8414, the SDK's discovery with its issuer check) the
 * first time and kept for the life of the process: the gateway's client
 * secret there never goes to an authorization server the upstream names
 * later. A failed discovery is tried again by the next call.
 */
import { discoverAuthorizationServerMetadata, discoverOAuthServerInfo, type AuthorizationServerMetadata, type FetchLike } from '@modelcontextprotocol/client';
import type { ServerConfig } from '../config/schema/index.js';
import { IdJagError } from './id-jag-errors.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface IdJagTarget {
  issuer: string;
  tokenEndpoint: string;
  /** `token_endpoint_auth_methods_supported` ([] when not advertised). */
  authMethods: string[];
  /** The resource the ID-JAG names. */
  resource: string;
}

export class IdJagTargets {
  private readonly found = new Map<string, Promise<IdJagTarget>>();

  constructor(private readonly fetchFn: FetchLike) {}

  of(server: ServerConfig): Promise<IdJagTarget> {
    let target = this.found.get(server.name);
    if (!target) {
      target = discover(server, this.fetchFn);
      this.found.set(server.name, target);
      target.catch(() => this.found.delete(server.name));
    }
    return target;
  }
}

async function discover(server: ServerConfig, fetchFn: FetchLike): Promise<IdJagTarget> {
  const url = server.spec.type === 'stdio' ? '' : server.spec.url;
  const configured = server.idJag?.authorizationServer;
  let metadata: AuthorizationServerMetadata | undefined;
  let resource: string | undefined;
  try {
    if (configured) metadata = await discoverAuthorizationServerMetadata(configured, { fetchFn });
    else {
      const info = await discoverOAuthServerInfo(url, { fetchFn });
      metadata = info.authorizationServerMetadata;
      resource = info.resourceMetadata?.resource;
    }
  } catch (err) {
    throw new IdJagError('discovery', `the upstream's authorization server could not be found (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!metadata?.token_endpoint) throw new IdJagError('discovery', "the upstream's authorization server publishes no token endpoint");
  const grants = metadata.grant_types_supported;
  if (grants && !grants.includes(JWT_BEARER)) throw new IdJagError('discovery', "the upstream's authorization server does not take the jwt-bearer grant");
  return {
    issuer: metadata.issuer,
    tokenEndpoint: metadata.token_endpoint,
    authMethods: metadata.token_endpoint_auth_methods_supported ?? [],
    resource: resource ?? url,
  };
}
