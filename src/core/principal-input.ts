/**
 * A principal written by hand: the `principal:` of a policy test case, and
 * `switchboard policy explain --principal P.json`. Either `kind` with the
 * un-namespaced `id` (plus `issuer` for a JWT), or a namespaced `id` alone
 * (`apikey:ci-bot`, `jwt:https://idp.example.com#alice`, `stdio:local`,
 * `anonymous`). A bare id is refused: it names no caller the gateway can
 * have, so a test written with it would pass while production sees
 * `apikey:ci-bot` and decides otherwise.
 */
import { parsePrincipalId, principalId, PRINCIPAL_KINDS, type ParsedPrincipalId, type Principal, type PrincipalKind } from './principal.js';

export interface PrincipalInput {
  kind?: string;
  id?: string;
  issuer?: string;
  scopes?: string[];
  groups?: string[];
  claims?: Record<string, unknown>;
}

export type PrincipalInputResult = { ok: true; principal: Principal } | { ok: false; key: 'id' | 'kind' | 'issuer'; message: string; fix: string };

/** Who a test case is when it names nobody: an API key with id "test". */
export const DEFAULT_TEST_PRINCIPAL = { kind: 'apikey', id: 'test' } as const;

/** `defaultIssuer`: taken for `kind: jwt` without `issuer` (explain passes gateway.auth.jwt.issuer). */
export function principalFromInput(raw: PrincipalInput, defaultIssuer?: string): PrincipalInputResult {
  const parts = partsOf(raw.kind === undefined && raw.id === undefined ? { ...raw, ...DEFAULT_TEST_PRINCIPAL } : raw, defaultIssuer);
  if (!parts.ok) return parts;
  const { kind, subject, issuer } = parts.parsed;
  const principal: Principal = {
    id: principalId(kind, subject, issuer),
    kind,
    subject,
    scopes: [...(raw.scopes ?? [])],
    groups: [...(raw.groups ?? [])],
    claims: raw.claims ?? {},
  };
  return { ok: true, principal };
}

type Parts = { ok: true; parsed: ParsedPrincipalId } | Extract<PrincipalInputResult, { ok: false }>;

function partsOf(raw: PrincipalInput, defaultIssuer: string | undefined): Parts {
  const fail = (key: 'id' | 'kind' | 'issuer', message: string, fix: string): Parts => ({ ok: false, key, message, fix });
  if (raw.kind === undefined) {
    if (raw.issuer !== undefined) return fail('issuer', '"issuer" goes with "kind: jwt"', 'add "kind: jwt", or remove "issuer"');
    const parsed = parsePrincipalId(raw.id!);
    if (parsed) return { ok: true, parsed };
    return fail(
      'id',
      `principal id "${raw.id}" has no namespace (the gateway's ids are apikey:<id>, jwt:<issuer>#<sub>, stdio:<id> and anonymous)`,
      `write "apikey:${raw.id}" (or add "kind: apikey"), "jwt:<issuer>#${raw.id}" or "stdio:${raw.id}"`,
    );
  }
  if (!(PRINCIPAL_KINDS as readonly string[]).includes(raw.kind)) {
    return fail('kind', `unknown principal kind "${raw.kind}"`, `use one of ${PRINCIPAL_KINDS.map((k) => `"${k}"`).join(', ')}`);
  }
  const kind = raw.kind as PrincipalKind;
  if (kind !== 'jwt' && raw.issuer !== undefined) return fail('issuer', `"issuer" goes with "kind: jwt", not "${kind}"`, 'remove "issuer"');
  if (kind === 'anonymous') {
    if (raw.id !== undefined && raw.id !== 'anonymous') return fail('id', 'an anonymous principal has no id', 'remove "id"');
    return { ok: true, parsed: { kind, subject: '' } };
  }
  if (raw.id === undefined) return fail('id', `a principal of kind "${kind}" needs its "id"`, `add "id" (${idMeaning(kind)})`);
  if (kind !== 'jwt') return { ok: true, parsed: { kind, subject: raw.id } };
  const issuer = raw.issuer ?? defaultIssuer;
  if (issuer === undefined) return fail('issuer', 'a JWT principal needs its "issuer"', 'add "issuer" (gateway.auth.jwt.issuer)');
  return { ok: true, parsed: { kind, subject: raw.id, issuer } };
}

function idMeaning(kind: 'apikey' | 'stdio' | 'jwt'): string {
  if (kind === 'apikey') return "the key's gateway.auth.apiKeys[].id";
  if (kind === 'stdio') return 'gateway.stdioPrincipal.id';
  return 'the token\'s id claim, "sub" by default';
}
