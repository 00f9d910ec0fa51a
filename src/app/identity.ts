/**
 * Who the gateway is to its callers: the canonical URL of its MCP endpoint
 * (the audience JWTs must name), the public URL users are sent to, and the
 * authenticator in force, swapped when a reload changes `gateway.auth`.
 */
import { createHttpAuthenticator, type HttpAuthenticator } from '../auth/http.js';
import { createJwtVerifier } from '../auth/jwt.js';
import { SubjectTokens } from '../auth/subject-tokens.js';
import type { GatewaySettings } from '../config/schema/index.js';
import type { ProtectedResource } from '../http/admission.js';

export class GatewayIdentity {
  /** The callers' verified JWTs, for token exchange: this gateway's own, never shared across instances. */
  readonly subjectTokens = new SubjectTokens();
  /** Set when bearer JWTs are accepted: RFC 9728 metadata is served and 401s point to it. */
  readonly protectedResource: ProtectedResource | undefined;
  private boundUrl: string | undefined;
  private current: HttpAuthenticator;

  constructor(private readonly settings: GatewaySettings) {
    this.current = this.authenticatorFor(settings.auth);
    const jwt = settings.auth.jwt;
    this.protectedResource = jwt && { resource: this.resource, authorizationServers: jwt.authorizationServers, scopesSupported: jwt.scopesSupported };
  }

  /** Who is calling, by the authenticator in force now. */
  readonly authenticate: HttpAuthenticator = (headers) => this.current(headers);

  /** The canonical URL of the MCP endpoint: configured, else this server's own (known once listening). */
  readonly resource = (): string => this.settings.auth.resource ?? `${this.origin()}${this.settings.path}`;

  /** Where users are sent to connect their own upstream accounts. */
  readonly publicUrl = (): string => {
    const { publicUrl, auth } = this.settings;
    return (publicUrl ?? (auth.resource ? new URL(auth.resource).origin : this.origin())).replace(/\/+$/, '');
  };

  /** Whether a link to this gateway's own pages can work: it serves HTTP, or a public URL names a replica that does. */
  readonly linkable = (): boolean => this.boundUrl !== undefined || this.settings.publicUrl !== undefined;

  /** The address the HTTP server actually bound. */
  bound(url: string): void {
    this.boundUrl = url;
  }

  useAuth(auth: GatewaySettings['auth']): void {
    this.current = this.authenticatorFor(auth);
  }

  private origin(): string {
    return this.boundUrl ?? `http://${this.settings.listen.host}:${this.settings.listen.port}`;
  }

  private authenticatorFor(auth: GatewaySettings['auth']): HttpAuthenticator {
    return createHttpAuthenticator(auth, {
      jwt: auth.jwt && createJwtVerifier(auth.jwt, { audience: () => [this.resource()] }),
      subjectTokens: this.subjectTokens,
    });
  }
}
