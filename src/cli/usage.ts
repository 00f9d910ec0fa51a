/** The main usage text: printed for --help, and after every usage error of the main command line. */
export const USAGE = `Usage:
  switchboard [serve] [--config F] [--stdio [--profile NAME]] [--host H] [--port P] [--log-level L]
  switchboard validate [--config F]
  switchboard catalog  [--config F] [--json] [--profile NAME]
  switchboard bridge [--host H] [--port P] [--log-level L] -- <command> [args…]
  switchboard policy test    [--config F] [--min-coverage N]   # every policies/*.tests.yaml (and rule coverage of the catalog)
  switchboard policy coverage [--config F] [--json] [AUDIT_FILE…]   # entries no rule matches, dead and shadowed rules
  switchboard policy explain [--config F] --call server__tool [--principal P.json] [--args A.json]
  switchboard pin [--config F] [--profile NAME]       # write switchboard.lock from what the servers serve now
  switchboard pin --check [--json]                    # exit 1 listing every difference from the lock (CI)
  switchboard pin diff                                # per-field diff against the lock
  switchboard pin approve <server>[__<name>]          # approve one server's changes, or one entry
  switchboard scan [--config F] [--json]              # poisoning lint over descriptions and schemas
  switchboard audit verify FILE… [--public-key PEM] [--json]   # the hash chain of audit files (oldest first)
  switchboard audit replay --policies DIR [--config F] [--json] FILE…   # re-decide recorded requests under other policies
  switchboard hash-key [KEY]                 # sha256 for gateway.auth.apiKeys (KEY or stdin)
  switchboard login <server> [--config F]    # upstream OAuth login (authorization code + PKCE)
  switchboard credentials list [--config F] [--principal P] [--json]   # users' stored upstream credentials (no tokens)
  switchboard credentials revoke --principal P --server S [--config F]

Config lookup: --config, then $SWITCHBOARD_CONFIG, then ./switchboard.json, ./switchboard.yaml, ./switchboard.yml, ./.mcp.json`;
