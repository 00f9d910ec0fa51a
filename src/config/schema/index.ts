/**
 * The configuration file's schema: the single source of truth. The JSON
 * Schema in `schema/switchboard.schema.json` is generated from it
 * (`npm run schema`); `../load.ts` turns a parsed file into a `LoadedConfig`.
 *
 * The file is a valid `.mcp.json` / `claude_desktop_config.json`: server
 * entries tolerate keys other clients put there, `gateway` does not (typos
 * there must be caught).
 *
 * One file per part of the file, assembled in `file.ts` (not here, because
 * `known-keys.ts` walks the assembled schema and this file re-exports it).
 * Everything in this folder imports only packages and its siblings:
 * `scripts/gen-schema.mjs` transpiles it without a build.
 */
export { SEPARATOR_PATTERN, SERVER_NAME_PATTERN } from './primitives.js';
export { HTTP_TYPE_ALIASES, REMOTE_TYPES, RemoteEntrySchema, ServerEntrySchema, ServersSchema, StdioEntrySchema } from './servers.js';
export type { HttpServerSpec, RemoteEntry, ServerEntry, ServerSpec, StdioEntry, StdioServerSpec } from './servers.js';
export { AuthorizationCodeOAuthSchema, ClientCredentialsOAuthSchema, UpstreamOAuthSchema } from './oauth.js';
export type { UpstreamOAuthSpec } from './oauth.js';
export { ServerSettingsSchema } from './server-settings.js';
export type { ServerConfig, ServerSettings } from './server-settings.js';
export { AuthSchema, DEFAULT_JWT_ALGORITHMS, JWT_ALGORITHMS, JwtSchema } from './auth.js';
export type { ApiKeySpec, AuthSettings, JwtAlgorithm, JwtSettings, PrincipalSpec, PublicJwkSpec } from './auth.js';
export { ProfileSchema } from './profiles.js';
export type { ProfileSettings } from './profiles.js';
export { GatewaySchema } from './gateway.js';
export type { GatewaySettings, LogLevel, RateLimitStoreSettings } from './gateway.js';
export { ConfigFileSchema, configJsonSchema } from './file.js';
export type { ConfigFile, LoadedConfig, ParsedConfigFile, SkippedServer } from './file.js';
export { closestKey, knownKeysAt } from './known-keys.js';
