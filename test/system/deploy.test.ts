/**
 * Everything under deploy/ is checked without a cluster or Docker:
 *
 * - the shipped dashboard and alerts parse and name only metrics the gateway
 *   exports (so a rename cannot silently blank a panel or an alert);
 * - every YAML/JSON file parses;
 * - the Kubernetes manifests have what running several replicas needs
 *   (hardening, probes, preStop, a grace period that covers the shutdown
 *   sequence, directory mounts for config and policies, a stable replica id)
 *   and reference each other consistently; the gateway configs they embed go
 *   through the real config parser and their policies through the real
 *   policy loader and policy tests;
 * - compose.yaml's services, ports, mounts and depends_on fit together, and
 *   every host its nginx, Prometheus and Grafana name is one of its services;
 * - with nginx installed, the three nginx configs pass `nginx -t` and are run
 *   for real in front of fake replicas, to check the session affinity itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML, { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { parseConfig } from '../../src/config/load.js';
import type { LoadedConfig } from '../../src/config/schema/index.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import { loadPolicyDir } from '../../src/policy/load.js';
import { loadPolicyTests, runPolicyTests } from '../../src/policy/tests-runner.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const deploy = path.join(root, 'deploy');
// metrics.ts composes the metric definitions from one file per topic under metrics/.
const metricFiles = ['src/observability/metrics.ts', ...readdirSync(path.join(root, 'src/observability/metrics')).map((f) => `src/observability/metrics/${f}`)];
const source = metricFiles.map((f) => readFileSync(path.join(root, f), 'utf8')).join('\n');
const exported = new Set([...source.matchAll(/name: '(switchboard_[a-z_]+)'/g)].map((m) => m[1]!));
const PROCESS = /^process_/;

function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:switchboard|process)_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ''));
}

describe('deploy/', () => {
  it('exports the metrics the dashboard and alerts use', () => {
    expect(exported.size).toBeGreaterThanOrEqual(10);
  });

  it('alerts.yaml parses and names only exported metrics', () => {
    const doc = YAML.parse(readFileSync(path.join(root, 'deploy/prometheus/alerts.yaml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'SwitchboardUpstreamDown',
        'SwitchboardErrorRatioHigh',
        'SwitchboardLatencyHigh',
        'SwitchboardToolQuarantined',
        'SwitchboardAuditSinkDown',
      ]),
    );
    for (const rule of rules) for (const name of metricNames(rule.expr)) expect(exported.has(name) || PROCESS.test(name), `${rule.alert}: ${name}`).toBe(true);
  });

  it('the Grafana dashboard parses and names only exported metrics', () => {
    const dash = JSON.parse(readFileSync(path.join(root, 'deploy/grafana/switchboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dash.panels.length).toBeGreaterThan(5);
    for (const panel of dash.panels) {
      for (const target of panel.targets)
        for (const name of metricNames(target.expr)) expect(exported.has(name) || PROCESS.test(name), `${panel.title}: ${name}`).toBe(true);
    }
  });

  it('every YAML and JSON file under deploy/ parses', () => {
    const files = walk(deploy).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.length).toBeGreaterThan(15);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      if (file.endsWith('.json')) expect(() => JSON.parse(text), file).not.toThrow();
      else yamlDocs(file);
    }
  });
});

// ---------------------------------------------------------------- helpers

type Obj = Record<string, unknown>;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Every document of a YAML file (merge keys on, as docker compose reads them); a syntax error fails the test. */
function yamlDocs(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
  if (!Array.isArray(docs)) return [];
  for (const doc of docs)
    expect(
      doc.errors.map((e) => e.message),
      file,
    ).toEqual([]);
  return docs.map((d) => d.toJS() as unknown).filter((d) => d !== null && d !== undefined);
}

/** ${VAR} references without a default: the variables a config cannot do without. */
function requiredVars(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!))];
}

/** "20s", "1m30s" (docker compose durations) → seconds. */
function durationSeconds(value: string): number {
  let total = 0;
  for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as 'ms' | 's' | 'm' | 'h'];
  return total;
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** The CLI as the image runs it: the Dockerfile has no ENTRYPOINT, so `command` must name node and the script. */
function cliArgs(command: string[] | undefined, args: string[] = []): ReturnType<typeof parseArgs> {
  expect(command?.slice(0, 2)).toEqual(['node', 'bin/switchboard.js']);
  return parseArgs([...command!.slice(2), ...args]);
}

// ---------------------------------------------------------------- Kubernetes

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec?: Obj;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  file: string;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
}
interface Mount {
  name: string;
  mountPath: string;
  subPath?: string;
  readOnly?: boolean;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  volumeMounts?: Mount[];
}
interface Volume {
  name: string;
  configMap?: { name: string };
  emptyDir?: Obj;
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: Volume[];
}
interface WorkloadSpec {
  serviceName?: string;
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: Meta; spec: PodSpec };
}
interface ServiceSpec {
  clusterIP?: string;
  publishNotReadyAddresses?: boolean;
  selector: Record<string, string>;
  ports: { name: string; port: number; targetPort: string | number }[];
}

const k8sDir = path.join(deploy, 'kubernetes');
const k8sFiles = readdirSync(k8sDir).filter((f) => f.endsWith('.yaml'));
const k8s: K8sObject[] = k8sFiles.flatMap((f) => yamlDocs(path.join(k8sDir, f)).map((d) => ({ ...(d as Omit<K8sObject, 'file'>), file: f })));
const kustomization = k8s.find((o) => o.kind === 'Kustomization') as unknown as { namespace: string; resources: string[] };
const objects = k8s.filter((o) => o.kind !== 'Kustomization');

function one(kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(
    found.map((o) => o.metadata.name),
    `${kind} ${name ?? ''}`,
  ).toHaveLength(1);
  return found[0]!;
}
const workloads = objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment');
const specOf = (o: K8sObject) => o.spec as unknown as WorkloadSpec;
const services = objects.filter((o) => o.kind === 'Service');
const serviceSpec = (o: K8sObject) => o.spec as unknown as ServiceSpec;

const sts = one('StatefulSet');
const pod = specOf(sts).template.spec;
const gateway = pod.containers.find((c) => c.name === 'switchboard')!;
const mountOf = (c: Container, mountPath: string) => c.volumeMounts?.find((m) => m.mountPath === mountPath);
const volumeOf = (spec: PodSpec, name: string | undefined) => spec.volumes?.find((v) => v.name === name);
const httpPort = gateway.ports!.find((p) => p.name === 'http')!.containerPort;
const gatewayArgs = cliArgs(gateway.command, gateway.args);
const configPath = gatewayArgs.flags.config!;
const configMount = mountOf(gateway, path.posix.dirname(configPath))!;
const configMap = one('ConfigMap', volumeOf(pod, configMount?.name)?.configMap?.name);
const configText = configMap.data![path.posix.basename(configPath)]!;
const rawConfig = JSON.parse(configText) as { gateway: Obj & { stateDir: string; shutdownDelayMs: number; drainMs: number } };
const secret = one('Secret');
const headless = services.find((s) => serviceSpec(s).clusterIP === 'None')!;
const router = one('Deployment', 'switchboard-router');
const routerConf = one('ConfigMap', volumeOf(specOf(router).template.spec, 'conf')?.configMap?.name).data!['switchboard.conf']!;

/** The container's environment as the config sees it: the pod name for the downward API, the example Secret's values. */
function gatewayEnv(podName: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of gateway.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
    else if (ref) {
      expect(ref.name, e.name).toBe(secret.metadata.name);
      expect(secret.stringData, `${ref.key} in secret.example.yaml`).toHaveProperty([ref.key]);
      env[e.name] = secret.stringData![ref.key]!;
    }
  }
  return env;
}

describe('deploy/kubernetes', () => {
  it('kustomization lists every manifest but the example Secret, in one namespace', () => {
    const listed = new Set(kustomization.resources);
    for (const f of kustomization.resources) expect(existsSync(path.join(k8sDir, f)), f).toBe(true);
    for (const f of k8sFiles.filter((f) => f !== 'kustomization.yaml')) expect(listed.has(f), f).toBe(f !== 'secret.example.yaml');
    expect(one('Namespace').metadata.name).toBe(kustomization.namespace);
    expect(secret.metadata.namespace).toBe(kustomization.namespace);
    for (const o of objects) {
      expect(o.apiVersion, o.file).toBeTruthy();
      expect(o.metadata?.name, o.file).toMatch(/^[a-z0-9-]+$/);
    }
    expect(readFileSync(path.join(k8sDir, 'README.md'), 'utf8')).toMatch(/apply/i);
  });

  it.each(workloads.map((w) => [w.metadata.name, w] as const))(
    '%s: hardened, sized, probed, stops gracefully, mounts ConfigMaps as directories',
    (_name, w) => {
      const spec = specOf(w);
      expect(matches(spec.selector.matchLabels, spec.template.metadata.labels)).toBe(true);
      const podSpec = spec.template.spec;
      expect(podSpec.securityContext?.runAsNonRoot).toBe(true);
      // A numeric uid: the kubelet cannot check runAsNonRoot against a user name such as the image's "node".
      expect(podSpec.securityContext?.runAsUser).toBeGreaterThan(0);
      for (const c of podSpec.containers) {
        expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
        expect(c.securityContext?.readOnlyRootFilesystem, c.name).toBe(true);
        expect(c.securityContext?.capabilities?.drop, c.name).toContain('ALL');
        for (const kind of ['requests', 'limits'] as const)
          for (const r of ['cpu', 'memory']) expect(c.resources?.[kind]?.[r], `${c.name} ${kind}.${r}`).toBeTruthy();
        expect(c.livenessProbe?.httpGet, c.name).toBeDefined();
        expect(c.readinessProbe?.httpGet, c.name).toBeDefined();
        expect(preStopSeconds(c), c.name).toBeGreaterThan(0);
        expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThan(preStopSeconds(c));
        // A read-only root needs somewhere to write.
        expect(volumeOf(podSpec, mountOf(c, '/tmp')?.name)?.emptyDir, `${c.name}: /tmp`).toBeDefined();
        for (const m of c.volumeMounts ?? []) {
          if (!volumeOf(podSpec, m.name)?.configMap) continue;
          // subPath mounts never see a ConfigMap update (no ..data symlink swap).
          expect(m.subPath, `${c.name}: ${m.mountPath}`).toBeUndefined();
          expect(m.readOnly, `${c.name}: ${m.mountPath}`).toBe(true);
        }
      }
    },
  );

  it('the gateway runs `serve` with the mounted config on the container port', () => {
    expect(readFileSync(path.join(root, 'Dockerfile'), 'utf8')).not.toMatch(/^ENTRYPOINT/m);
    expect(gateway.image).toBe('ghcr.io/switchboard-mcp/switchboard:latest');
    expect(gatewayArgs).toMatchObject({ command: 'serve', flags: { config: '/etc/switchboard/switchboard.json', host: '0.0.0.0', port: String(httpPort) } });
    expect(httpPort).toBe(8080);
    expect(configMount.subPath).toBeUndefined();
    // The image runs as uid 1000 (the base image's "node" user), numerically so that runAsNonRoot can be verified.
    expect(readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toMatch(/^USER 1000:1000$/m);
    expect(pod.securityContext?.runAsUser).toBe(1000);
  });

  it('probes: liveness GET /healthz, readiness GET /readyz, on the gateway port', () => {
    expect(gateway.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(gateway.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  it('the grace period covers preStop + shutdownDelayMs + drainMs', () => {
    const { shutdownDelayMs, drainMs } = rawConfig.gateway;
    expect(drainMs).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStopSeconds(gateway) + (shutdownDelayMs + drainMs) / 1000);
  });

  it('the replica id is the pod name, and pods have stable names under the headless Service', () => {
    expect(gateway.env?.find((e) => e.name === 'SWITCHBOARD_REPLICA_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(rawConfig.gateway.replicaId).toBe('${SWITCHBOARD_REPLICA_ID}');
    expect(specOf(sts).serviceName).toBe(headless.metadata.name);
    expect(serviceSpec(headless).publishNotReadyAddresses).toBe(true);
    expect(specOf(sts).replicas).toBeGreaterThanOrEqual(2);
  });

  it('the config in the ConfigMap passes the real config parser with the pod environment', () => {
    const env = gatewayEnv('switchboard-0');
    for (const name of requiredVars(configText)) expect(env, `\${${name}} has no env var in statefulset.yaml`).toHaveProperty([name]);
    const config: LoadedConfig = parseConfig(JSON.parse(configText), configPath, env);
    expect(config.gateway.replicaId).toBe('switchboard-0');
    expect(config.gateway.listen).toEqual({ host: '0.0.0.0', port: httpPort });
    expect(config.gateway.rateLimit.store).toMatchObject({ type: 'redis', url: env.REDIS_URL });
    expect(config.servers.length).toBeGreaterThan(0);
    // Policies: a ConfigMap directory mount, not inside the config mount.
    const policiesMount = mountOf(gateway, config.gateway.policies as string);
    expect(volumeOf(pod, policiesMount?.name)?.configMap).toBeDefined();
    // stateDir: writable.
    expect(volumeOf(pod, mountOf(gateway, rawConfig.gateway.stateDir)?.name)?.emptyDir).toBeDefined();
  });

  it('the Host names clients and the router use are in gateway.allowedHosts', () => {
    const allowed = new Set(rawConfig.gateway.allowedHosts as string[]);
    const hosts = one('Ingress').spec!.rules as { host: string }[];
    for (const { host } of hosts) expect(allowed.has(host), host).toBe(true);
    const ns = kustomization.namespace;
    for (const svc of [router.metadata.name, one('Service', 'switchboard').metadata.name]) {
      for (const name of [svc, `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`]) expect(allowed.has(name), name).toBe(true);
    }
  });

  it('the policies in the ConfigMap load with the real policy loader and their tests pass', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sb-deploy-policies-'));
    try {
      const policies = one('ConfigMap', volumeOf(pod, mountOf(gateway, '/etc/switchboard-policies')?.name)?.configMap?.name);
      for (const [name, text] of Object.entries(policies.data!)) writeFileSync(path.join(dir, name), text);
      const set = loadPolicyDir(dir);
      expect(set.files.length).toBeGreaterThan(0);
      const config = parseConfig(JSON.parse(configText), configPath, gatewayEnv('switchboard-0'));
      for (const server of Object.keys(set.servers))
        expect(
          config.servers.map((s) => s.name),
          server,
        ).toContain(server);
      const suites = loadPolicyTests(dir);
      expect(suites.length).toBeGreaterThan(0);
      const results = runPolicyTests(new PolicyEngine(set, { defaultEffect: config.gateway.defaultEffect }), suites);
      expect(results.length).toBeGreaterThan(0);
      for (const r of results) expect(r.diff, r.name).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the example Secret holds only fake values', () => {
    for (const [key, value] of Object.entries(secret.stringData ?? {})) {
      if (key.endsWith('_SHA256')) expect(value).toBe(createHash('sha256').update('example-key-not-secret').digest('hex'));
      else expect(value, key).toMatch(/fake/);
    }
  });

  it('Services, PDBs, the HPA, the ServiceMonitor and the Ingress point at what exists', () => {
    const podLabels = (w: K8sObject) => specOf(w).template.metadata.labels;
    for (const svc of services) {
      const target = workloads.find((w) => matches(serviceSpec(svc).selector, podLabels(w)));
      expect(target, svc.metadata.name).toBeDefined();
      const names = specOf(target!)
        .template.spec.containers.flatMap((c) => c.ports ?? [])
        .map((p) => p.name);
      for (const p of serviceSpec(svc).ports) expect(names, `${svc.metadata.name}: ${p.targetPort}`).toContain(p.targetPort);
    }
    for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
      expect(pdb.apiVersion).toBe('policy/v1');
      const selector = (pdb.spec!.selector as { matchLabels: Record<string, string> }).matchLabels;
      expect(
        workloads.filter((w) => matches(selector, podLabels(w))),
        pdb.metadata.name,
      ).toHaveLength(1);
    }
    const hpa = one('HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec!.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: sts.metadata.name });
    expect(hpa.spec!.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec!.maxReplicas).toBeGreaterThan(hpa.spec!.minReplicas as number);

    const monitor = one('ServiceMonitor');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    // Exactly one Service, or every pod is scraped twice.
    const scraped = services.filter((s) => matches((monitor.spec!.selector as { matchLabels: Record<string, string> }).matchLabels, s.metadata.labels));
    expect(scraped.map((s) => s.metadata.name)).toEqual(['switchboard']);
    const endpoints = monitor.spec!.endpoints as { port: string; path: string }[];
    expect(endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    expect(serviceSpec(scraped[0]!).ports.map((p) => p.name)).toContain('http');
    const annotations = specOf(sts).template.metadata.annotations;
    expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(httpPort), 'prometheus.io/path': '/metrics' });

    const ingress = one('Ingress');
    const backends = (ingress.spec!.rules as { http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[]).flatMap((r) =>
      r.http.paths.map((p) => p.backend.service),
    );
    for (const b of backends) {
      const svc = one('Service', b.name);
      expect(serviceSpec(svc).ports.map((p) => p.name)).toContain(b.port.name);
    }
    expect(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
  });

  it("the router's nginx names the replicas' DNS names, the pool Service and kube-dns consistently", () => {
    const ns = kustomization.namespace;
    const pool = one('Service', 'switchboard');
    const port = serviceSpec(headless).ports[0]!.port;
    expect(routerConf).toContain(
      `"~^(?<sb_replica>${sts.metadata.name}-[0-9]{1,5})\\."   $sb_replica.${headless.metadata.name}.${ns}.svc.cluster.local:${port};`,
    );
    expect(routerConf).toMatch(
      new RegExp(`upstream switchboard_pool \\{[^}]*server ${pool.metadata.name}\\.${ns}\\.svc\\.cluster\\.local:${serviceSpec(pool).ports[0]!.port};`),
    );
    expect(routerConf).toMatch(/resolver kube-dns\.kube-system\.svc\.cluster\.local /);
    checkStreamingProxy(routerConf);
  });
});

function preStopSeconds(c: Container): number {
  const preStop = c.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command = preStop?.exec?.command ?? [];
  expect(command[0], `${c.name}: preStop is a sleep`).toBe('sleep');
  return Number(command[1]);
}

/** Settings each nginx config needs for MCP: streams unbuffered, long reads, HTTP/1.1, forwarded headers, safe retries. */
function checkStreamingProxy(conf: string): void {
  for (const directive of [
    'proxy_buffering off;',
    'proxy_read_timeout 1h;',
    'proxy_http_version 1.1;',
    'proxy_set_header Host $http_host;',
    'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    'proxy_next_upstream error timeout;',
    'client_max_body_size 4m;',
    'proxy_pass http://$sb_backend;',
    'error_page 502 = @sb_replica_gone;',
  ])
    expect(conf).toContain(directive);
  // POSTs must never be resent after they reached a replica.
  expect(conf).not.toMatch(/non_idempotent/);
}

// ---------------------------------------------------------------- docker compose

interface ComposeService {
  build?: { context: string; dockerfile?: string; target?: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  expose?: string[];
  depends_on?: string[] | Record<string, { condition: string }>;
  stop_grace_period?: string;
}

const composeDir = path.join(deploy, 'compose');
const compose = yamlDocs(path.join(composeDir, 'compose.yaml'))[0] as { services: Record<string, ComposeService> };
const composeServices = compose.services;
const replicas = Object.keys(composeServices).filter((s) => /^switchboard-\d+$/.test(s));
const composeConfigText = readFileSync(path.join(composeDir, 'switchboard.json'), 'utf8');
const composeNginx = readFileSync(path.join(composeDir, 'nginx.conf'), 'utf8');

/** compose's own ${VAR:-default} interpolation, with an empty host environment. */
const interpolate = (value: string): string =>
  value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_m, _name: string, fallback?: string) => fallback ?? '');
const dependsOn = (s: ComposeService): string[] => (Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {}));
/** Bind mounts as [source on the host (absolute), target in the container]. */
const binds = (s: ComposeService): [string, string][] =>
  (s.volumes ?? []).map((v) => v.split(':')).map(([src, target]) => [path.resolve(composeDir, src!), target!] as [string, string]);

function composeConfig(service: string): LoadedConfig {
  const s = composeServices[service]!;
  const env = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));
  const file = cliArgs(s.command).flags.config!;
  return parseConfig(JSON.parse(composeConfigText), file, env);
}

describe('deploy/compose', () => {
  it('has two gateway replicas, redis, nginx, prometheus and grafana', () => {
    expect(replicas).toEqual(['switchboard-1', 'switchboard-2']);
    for (const name of ['redis', 'nginx', 'prometheus', 'grafana']) expect(composeServices, name).toHaveProperty([name]);
  });

  it('depends_on, build contexts and bind mounts name what exists', () => {
    for (const [name, s] of Object.entries(composeServices)) {
      for (const dep of dependsOn(s)) expect(composeServices, `${name} depends on ${dep}`).toHaveProperty([dep]);
      if (s.build) expect(existsSync(path.join(composeDir, s.build.context, s.build.dockerfile ?? 'Dockerfile')), name).toBe(true);
      else expect(s.image, name).toBeTruthy();
      for (const [src] of binds(s)) expect(existsSync(src), `${name}: ${src}`).toBe(true);
    }
    expect(dependsOn(composeServices.nginx!)).toEqual(expect.arrayContaining(replicas));
    const build = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    for (const s of Object.values(composeServices)) if (s.build?.target) expect(build).toContain(` AS ${s.build.target}`);
  });

  it.each(replicas)('%s: replica id = service name, config passes the real parser, stops gracefully', (name) => {
    const s = composeServices[name]!;
    const args = cliArgs(s.command);
    expect(args).toMatchObject({ command: 'serve', flags: { host: '0.0.0.0', port: '8080' } });
    expect(binds(s)).toContainEqual([path.join(composeDir, 'switchboard.json'), args.flags.config]);
    for (const v of requiredVars(composeConfigText)) expect(s.environment, `${name}: \${${v}}`).toHaveProperty([v]);
    const config = composeConfig(name);
    expect(config.gateway.replicaId).toBe(name);
    expect(config.gateway.listen.port).toBe(8080);
    expect(s.expose).toContain('8080');
    expect(binds(s).map(([, target]) => target)).toContain(config.gateway.policies);
    // Clients reach nginx as localhost:8080, and nginx passes that Host on.
    expect(config.gateway.allowedHosts).toContain('localhost');
    expect(durationSeconds(s.stop_grace_period ?? '10s')).toBeGreaterThan((config.gateway.shutdownDelayMs + config.gateway.drainMs) / 1000);
  });

  it('the replicas are configured alike apart from their id', () => {
    const [a, b] = replicas.map((r) => ({ ...composeServices[r]!, environment: { ...composeServices[r]!.environment, SWITCHBOARD_REPLICA_ID: '' } }));
    expect(a).toEqual(b);
  });

  it('upstream and Redis URLs in the config name compose services on ports they expose', () => {
    const config = composeConfig('switchboard-1');
    const store = config.gateway.rateLimit.store;
    const urls = [...config.servers.flatMap((s) => (s.spec.type === 'stdio' ? [] : [s.spec.url])), store.type === 'redis' ? store.url : ''];
    for (const url of urls.filter((u) => u !== '')) {
      const { hostname, port } = new URL(url);
      expect(composeServices, url).toHaveProperty([hostname]);
      expect(composeServices[hostname]!.expose, url).toContain(port);
    }
    expect(composeServices.everything?.environment?.PORT).toBe('3001');
  });

  it('nginx publishes 8080, and every host its config names is a replica on the gateway port', () => {
    expect(composeServices.nginx!.ports).toEqual(['127.0.0.1:8080:8080']);
    expect(composeNginx).toMatch(/listen 8080;/);
    expect(binds(composeServices.nginx!)).toContainEqual([path.join(composeDir, 'nginx.conf'), '/etc/nginx/nginx.conf']);
    const upstreamHosts = [...composeNginx.matchAll(/^\s*server ([A-Za-z0-9_.-]+:\d+)/gm)].map((m) => m[1]!);
    const mapHosts = [...composeNginx.matchAll(/^\s*"~\^([A-Za-z0-9_-]+)\\\."\s+([^\s;]+);/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(upstreamHosts.sort()).toEqual(replicas.map((r) => `${r}:8080`));
    // Every replica has its own map entry, which routes to the service of that name.
    expect(mapHosts).toEqual(replicas.map((r) => [r, `${r}:8080`]));
    const proxied = [...composeNginx.matchAll(/proxy_pass http:\/\/([^;]+);/g)].map((m) => m[1]!);
    expect(proxied).toEqual(['$sb_backend', 'switchboard_pool']);
    expect(composeNginx).toContain('resolver 127.0.0.11 ');
    checkStreamingProxy(composeNginx);
  });

  it('Prometheus scrapes every replica and loads the alert rules', () => {
    const prom = yamlDocs(path.join(composeDir, 'prometheus.yml'))[0] as {
      rule_files: string[];
      scrape_configs: { metrics_path: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = prom.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    expect(targets.sort()).toEqual(replicas.map((r) => `${r}:8080`));
    expect(prom.scrape_configs.map((c) => c.metrics_path)).toEqual(['/metrics']);
    const mounted = binds(composeServices.prometheus!);
    for (const rules of prom.rule_files) expect(mounted).toContainEqual([path.join(deploy, 'prometheus/alerts.yaml'), rules]);
    expect(mounted.map(([, t]) => t)).toContain('/etc/prometheus/prometheus.yml');
  });

  it('Grafana gets the Prometheus datasource and the shipped dashboard', () => {
    const mounts = binds(composeServices.grafana!);
    const provisioning = mounts.find(([, t]) => t === '/etc/grafana/provisioning')![0];
    const ds = yamlDocs(path.join(provisioning, 'datasources/prometheus.yaml'))[0] as { datasources: { type: string; url: string; isDefault: boolean }[] };
    expect(ds.datasources).toEqual([expect.objectContaining({ type: 'prometheus', isDefault: true })]);
    const url = new URL(ds.datasources[0]!.url);
    expect(composeServices, url.hostname).toHaveProperty([url.hostname]);
    expect(composeServices[url.hostname]!.ports?.some((p) => p.endsWith(`:${url.port}`))).toBe(true);
    const providers = (yamlDocs(path.join(provisioning, 'dashboards/switchboard.yaml'))[0] as { providers: { options: { path: string } }[] }).providers;
    const dashboard = mounts.find(([src]) => src === path.join(deploy, 'grafana/switchboard.json'));
    expect(dashboard).toBeDefined();
    expect(providers.map((p) => p.options.path)).toContain(path.posix.dirname(dashboard![1]));
  });

  it('README.md explains how to start it', () => {
    expect(readFileSync(path.join(composeDir, 'README.md'), 'utf8')).toMatch(/docker compose up/);
  });
});

// ---------------------------------------------------------------- bare-metal nginx snippet

const bareMetal = readFileSync(path.join(deploy, 'nginx/switchboard.conf'), 'utf8');

describe('deploy/nginx/switchboard.conf', () => {
  it('routes like the compose config: every upstream group the map names exists', () => {
    const groups = new Set([...bareMetal.matchAll(/^upstream (\S+) \{/gm)].map((m) => m[1]!));
    const targets = [...bareMetal.matchAll(/^\s*"~\^switchboard-\d+\\\."\s+([^\s;]+);/gm)].map((m) => m[1]!);
    expect(targets).toEqual(['switchboard_replica_1', 'switchboard_replica_2']);
    for (const t of [...targets, 'switchboard_pool']) expect(groups.has(t), t).toBe(true);
    checkStreamingProxy(bareMetal);
  });
});

// ---------------------------------------------------------------- nginx, for real

const NGINX = '/usr/sbin/nginx';
const hasNginx = existsSync(NGINX);

/** nginx's own version: `resolve` on an upstream server needs 1.27.3. */
function nginxSupportsResolve(): boolean {
  const v = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(spawnSync(NGINX, ['-v'], { encoding: 'utf8' }).stderr);
  if (!v) return false;
  const [maj, min, patch] = [Number(v[1]), Number(v[2]), Number(v[3])];
  return maj > 1 || (maj === 1 && (min > 27 || (min === 27 && patch >= 3)));
}

interface Seen {
  replica: string;
  method: string;
  url: string;
  host: string;
  xff: string;
  bodyLength: number;
  error?: string;
}

interface FakeReplica {
  name: string;
  server: http.Server;
  /** Requests to /crash, which this replica read and then dropped without an answer. */
  crashes: number;
  /** Ends the open /stream responses. */
  release: () => void;
  stop: () => Promise<void>;
}

/**
 * A stand-in for a gateway replica: it names sessions after itself on a
 * request without one, answers 404 for a session id another replica issued
 * (as the gateway does for a session it does not know), and echoes what it saw.
 */
async function fakeReplica(name: string, host: string, port: number): Promise<FakeReplica> {
  const open: http.ServerResponse[] = [];
  const replica = { crashes: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://replica');
      const session = req.headers['mcp-session-id'] ?? url.searchParams.get('sessionId') ?? undefined;
      const seen: Seen = {
        replica: name,
        method: req.method ?? '',
        url: req.url ?? '',
        host: req.headers.host ?? '',
        xff: String(req.headers['x-forwarded-for'] ?? ''),
        bodyLength: Buffer.concat(chunks).length,
      };
      if (url.pathname === '/crash') {
        replica.crashes++;
        return void req.socket.destroy();
      }
      if (url.pathname === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: first\n\n');
        open.push(res);
        return;
      }
      if (typeof session === 'string' && !session.startsWith(`${name}.`)) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ ...seen, error: 'Session not found' }));
      }
      res.writeHead(200, { 'content-type': 'application/json', ...(session === undefined ? { 'mcp-session-id': `${name}.${randomUUID()}` } : {}) });
      res.end(JSON.stringify(seen));
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return {
    name,
    server,
    get crashes() {
      return replica.crashes;
    },
    release: () => open.splice(0).forEach((r) => r.end('data: last\n\n')),
    stop: () =>
      new Promise<void>((resolve) => {
        open.splice(0).forEach((r) => r.destroy());
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Reply {
  status: number;
  body: Seen;
  session?: string;
}

function send(port: number, opts: { path?: string; method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  const body = opts.body ?? (opts.method === 'GET' ? undefined : '{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/mcp',
        method: opts.method ?? 'POST',
        headers: { 'content-type': 'application/json', ...opts.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: Seen;
          try {
            parsed = JSON.parse(text) as Seen;
          } catch {
            parsed = { replica: `<nginx ${res.statusCode}>`, method: '', url: '', host: '', xff: '', bodyLength: 0, error: text.slice(0, 200) };
          }
          const session = res.headers['mcp-session-id'];
          resolve({ status: res.statusCode ?? 0, body: parsed, ...(typeof session === 'string' ? { session } : {}) });
        });
      },
    );
    req.setTimeout(3000, () => req.destroy(new Error(`no answer from nginx for ${opts.path ?? '/mcp'}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Reads a streamed response: resolves with the first chunk while the replica still holds the response open. */
function firstChunk(port: number): Promise<{ first: string; rest: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/stream', method: 'GET', agent: false }, (res) => {
      let all = '';
      let done: (s: string) => void = () => {};
      const rest = new Promise<string>((r) => (done = r));
      res.on('data', (c: Buffer) => {
        if (all === '') resolve({ first: c.toString(), rest });
        all += c.toString();
      });
      res.on('end', () => done(all));
    });
    req.setTimeout(3000, () => req.destroy(new Error('the stream was held back: no first chunk')));
    req.on('error', reject);
    req.end();
  });
}

async function waitForPort(port: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && alive()) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nginx did not listen on ${port}`);
}

async function listenPort(host: string): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Temp paths and logs inside `dir`, so nginx runs unprivileged-style in a sandbox. */
const tempPaths = (dir: string) => ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`).join('\n');

/** Test-only rewrites of a shipped config; each must find what it replaces, so a changed config cannot slip through untested. */
function rewrite(text: string, pairs: [from: string | RegExp, to: string][]): string {
  for (const [from, to] of pairs) {
    const found = typeof from === 'string' ? text.includes(from) : new RegExp(from.source, from.flags.replace('g', '')).test(text);
    if (!found) throw new Error(`the config no longer contains ${String(from)}`);
    text = typeof from === 'string' ? text.replaceAll(from, to) : text.replace(from, to);
  }
  return text;
}

/** An http-context snippet wrapped into a complete nginx.conf. */
const wrapSnippet = (snippet: string, dir: string) => `pid ${dir}/nginx.pid;\nevents {}\nhttp {\n${tempPaths(dir)}\n${snippet}\n}\n`;

class Nginx {
  private madeDir?: string;
  child?: ChildProcess;
  port = 0;

  /** Its prefix directory: config, pid, logs, temp files (made on first use, so a skipped suite leaves nothing behind). */
  get dir(): string {
    return (this.madeDir ??= mkdtempSync(path.join(tmpdir(), 'sb-deploy-nginx-')));
  }

  /** `nginx -t` on the config; throws with nginx's own words. */
  test(conf: string): string {
    const file = path.join(this.dir, 'nginx.conf');
    writeFileSync(file, conf);
    for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(this.dir, t), { recursive: true });
    const r = spawnSync(NGINX, ['-t', '-q', '-p', this.dir, '-c', file, '-e', path.join(this.dir, 'error.log')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`nginx -t failed:\n${r.stderr}\n--- config ---\n${conf}`);
    return file;
  }

  async start(conf: string, port: number): Promise<void> {
    const file = this.test(conf);
    this.port = port;
    const child = spawn(NGINX, ['-p', this.dir, '-c', file, '-e', path.join(this.dir, 'error.log'), '-g', 'daemon off; master_process off;'], {
      stdio: 'ignore',
    });
    this.child = child;
    await waitForPort(port, () => child.exitCode === null).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.errorLog()}`);
    });
  }

  errorLog(): string {
    const file = path.join(this.dir, 'error.log');
    return existsSync(file) && statSync(file).isFile() ? readFileSync(file, 'utf8') : '';
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    if (this.madeDir) rmSync(this.madeDir, { recursive: true, force: true });
  }
}

/** A tiny DNS server (A records only; anything unknown is NXDOMAIN), standing in for kube-dns. */
async function fakeDns(records: Record<string, string>): Promise<{ socket: UdpSocket; port: number }> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, peer) => {
    let off = 12;
    const labels: string[] = [];
    while (off < msg.length && msg[off] !== 0) {
      const len = msg[off]!;
      labels.push(msg.subarray(off + 1, off + 1 + len).toString());
      off += len + 1;
    }
    const qtype = msg.readUInt16BE(off + 1);
    const question = msg.subarray(12, off + 5);
    const ip = records[labels.join('.').toLowerCase()];
    const answer = ip !== undefined && qtype === 1;
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    header.writeUInt16BE(ip === undefined ? 0x8183 : 0x8180, 2); // response, recursion available; NXDOMAIN or no error
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answer ? 1 : 0, 6);
    const parts = [header, question];
    if (answer) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(1, 6); // TTL
      rr.writeUInt16BE(4, 10);
      ip.split('.').forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i));
      parts.push(rr);
    }
    socket.send(Buffer.concat(parts), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port };
}

/**
 * What every one of the three configs must do, run against nginx with two
 * fake replicas `a` and `b` (b is stopped at the end). `pool` is who answers
 * requests without a session: both replicas, or (Kubernetes, where a
 * ClusterIP Service stands for the pool) just `a`.
 */
function affinityScenarios(ctx: () => { nginx: Nginx; a: FakeReplica; b: FakeReplica; pool: string[] }) {
  it('requests without a session id (initialize, stateless requests) are balanced over the pool', async () => {
    const { nginx, pool } = ctx();
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await send(nginx.port);
      expect(r.status).toBe(200);
      expect(r.session?.startsWith(`${r.body.replica}.`)).toBe(true);
      seen.add(r.body.replica);
    }
    expect([...seen].sort()).toEqual([...pool].sort());
  });

  it('a session goes back to the replica named in its id, by header or by ?sessionId=', async () => {
    const { nginx, a, b } = ctx();
    for (const replica of [a, b, b, a, b]) {
      const r = await send(nginx.port, { headers: { 'mcp-session-id': `${replica.name}.${randomUUID()}` } });
      expect([r.status, r.body.replica]).toEqual([200, replica.name]);
    }
    const get = await send(nginx.port, { method: 'GET', headers: { 'mcp-session-id': `${b.name}.${randomUUID()}` } });
    expect([get.status, get.body.replica, get.body.method]).toEqual([200, b.name, 'GET']);
    const sse = await send(nginx.port, { path: `/messages?sessionId=${b.name}.${randomUUID()}` });
    expect([sse.status, sse.body.replica]).toEqual([200, b.name]);
  });

  it('an id naming no known replica, or without a replica prefix, reaches the pool and gets a clean 404', async () => {
    const { nginx, pool } = ctx();
    for (const id of [`switchboard-9.${randomUUID()}`, randomUUID(), `elsewhere.${randomUUID()}`]) {
      const r = await send(nginx.port, { headers: { 'mcp-session-id': id } });
      expect([r.status, r.body.error], id).toEqual([404, 'Session not found']);
      expect(pool).toContain(r.body.replica);
    }
  });

  it('passes the Host header, the body and X-Forwarded-For on', async () => {
    const { nginx, a } = ctx();
    const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'x', arguments: { pad: 'y'.repeat(20000) } } });
    const r = await send(nginx.port, { headers: { host: 'switchboard.example.com:8080', 'mcp-session-id': `${a.name}.${randomUUID()}` }, body });
    expect(r.body).toMatchObject({ replica: a.name, host: 'switchboard.example.com:8080', bodyLength: Buffer.byteLength(body) });
    expect(r.body.xff).toContain('127.0.0.1');
  });

  // (proxy_buffering off itself is checked in the file: nginx happens to flush this small stream either way.)
  it('a stream reaches the client while the replica still holds the response open', async () => {
    const { nginx, a, b } = ctx();
    const { first, rest } = await firstChunk(nginx.port);
    expect(first).toContain('data: first');
    a.release();
    b.release();
    expect(await rest).toContain('data: last');
  });

  it("a session's POST that reached its replica is never sent again, even when the replica drops the connection", async () => {
    const { nginx, a, b } = ctx();
    const r = await send(nginx.port, { path: '/crash', headers: { 'mcp-session-id': `${b.name}.${randomUUID()}` } });
    expect([r.status, a.crashes, b.crashes]).toEqual([502, 0, 1]);
  });

  it("when a replica is gone, its sessions get the pool's 404 (body intact) and new requests go to the others", async () => {
    const { nginx, a, b } = ctx();
    await b.stop();
    await new Promise((r) => setTimeout(r, 50));
    const body = JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'x' } });
    const r = await send(nginx.port, { headers: { 'mcp-session-id': `${b.name}.${randomUUID()}` }, body });
    expect([r.status, r.body.replica, r.body.error, r.body.bodyLength]).toEqual([404, a.name, 'Session not found', Buffer.byteLength(body)]);
    for (let i = 0; i < 3; i++) {
      const fresh = await send(nginx.port);
      expect([fresh.status, fresh.body.replica]).toEqual([200, a.name]);
    }
  });

  // Last: a dropped connection marks the replica failed in the pool for a few seconds.
  it('a POST balanced to a replica that drops the connection is not sent again either', async () => {
    const { nginx, a, b } = ctx();
    const r = await send(nginx.port, { path: '/crash' });
    expect([r.status, a.crashes + b.crashes]).toEqual([502, 2]);
  });
}

describe.skipIf(!hasNginx)('nginx configs, run by nginx', () => {
  describe('deploy/compose/nginx.conf (compose hostnames mapped to 127.0.0.1 ports)', () => {
    const nginx = new Nginx();
    let a: FakeReplica;
    let b: FakeReplica;
    beforeAll(async () => {
      a = await fakeReplica('switchboard-1', '127.0.0.1', 0);
      b = await fakeReplica('switchboard-2', '127.0.0.1', 0);
      const port = await listenPort('127.0.0.1');
      const addr = (r: FakeReplica) => `127.0.0.1:${(r.server.address() as AddressInfo).port}`;
      // Test-only rewrites: the compose service names become the fake
      // replicas' loopback ports (no Docker DNS here), files go to a temp dir.
      let conf = rewrite(composeNginx, [
        ['switchboard-1:8080', addr(a)],
        ['switchboard-2:8080', addr(b)],
        ['listen 8080;', `listen 127.0.0.1:${port};`],
        ['pid /tmp/nginx.pid;', `pid ${nginx.dir}/nginx.pid;`],
        [/(_temp_path\s+)\/tmp\//g, `$1${nginx.dir}/`],
        ['error_log /dev/stderr warn;', `error_log ${nginx.dir}/error.log warn;`],
        ['access_log /dev/stdout switchboard;', 'access_log off;'],
      ]);
      // Before 1.27.3 nginx has no "resolve" (and needs none for addresses).
      if (!nginxSupportsResolve()) conf = rewrite(conf, [[' resolve ', ' ']]);
      await nginx.start(conf, port);
    });
    afterAll(async () => {
      await nginx.stop();
      await a?.stop();
      await b?.stop();
    });
    affinityScenarios(() => ({ nginx, a, b, pool: [a.name, b.name] }));
  });

  describe('deploy/nginx/switchboard.conf (wrapped into a full nginx.conf)', () => {
    const nginx = new Nginx();
    let a: FakeReplica;
    let b: FakeReplica;
    beforeAll(async () => {
      a = await fakeReplica('switchboard-1', '127.0.0.1', 0);
      b = await fakeReplica('switchboard-2', '127.0.0.1', 0);
      const port = await listenPort('127.0.0.1');
      const snippet = rewrite(bareMetal, [
        ['127.0.0.1:8081', `127.0.0.1:${(a.server.address() as AddressInfo).port}`],
        ['127.0.0.1:8082', `127.0.0.1:${(b.server.address() as AddressInfo).port}`],
        ['listen 8080;', `listen 127.0.0.1:${port};`],
        [/access_log \/var\/log\/nginx\/\S+ switchboard;/, 'access_log off;'],
      ]);
      await nginx.start(wrapSnippet(snippet, nginx.dir), port);
    });
    afterAll(async () => {
      await nginx.stop();
      await a?.stop();
      await b?.stop();
    });
    affinityScenarios(() => ({ nginx, a, b, pool: [a.name, b.name] }));
  });

  describe("deploy/kubernetes/router.yaml's nginx (a fake kube-dns; pods on 127.0.0.2 and 127.0.0.3)", () => {
    const nginx = new Nginx();
    let a: FakeReplica;
    let b: FakeReplica;
    let dns: { socket: UdpSocket; port: number };
    beforeAll(async () => {
      // Both pods listen on the same port, as in the cluster; only their addresses differ.
      a = await fakeReplica('switchboard-0', '127.0.0.2', 0);
      const podPort = (a.server.address() as AddressInfo).port;
      b = await fakeReplica('switchboard-1', '127.0.0.3', podPort);
      const ns = kustomization.namespace;
      dns = await fakeDns({
        [`switchboard-0.${headless.metadata.name}.${ns}.svc.cluster.local`]: '127.0.0.2',
        [`switchboard-1.${headless.metadata.name}.${ns}.svc.cluster.local`]: '127.0.0.3',
      });
      const port = await listenPort('127.0.0.1');
      // Test-only rewrites: kube-dns → the fake DNS server, the pool's
      // ClusterIP Service → pod a, the pods' port → the fake replicas' port.
      const snippet = rewrite(routerConf, [
        [/resolver kube-dns\.kube-system\.svc\.cluster\.local [^;]*;/, `resolver 127.0.0.1:${dns.port} valid=1s ipv6=off;`],
        [`server switchboard.${ns}.svc.cluster.local:8080;`, `server 127.0.0.2:${podPort};`],
        ['.svc.cluster.local:8080;', `.svc.cluster.local:${podPort};`],
        ['listen 8080;', `listen 127.0.0.1:${port};`],
        ['listen 8081;', `listen 127.0.0.1:${await listenPort('127.0.0.1')};`],
        ['access_log /dev/stdout switchboard;', 'access_log off;'],
      ]);
      await nginx.start(wrapSnippet(snippet, nginx.dir), port);
    });
    afterAll(async () => {
      await nginx.stop();
      await a?.stop();
      await b?.stop();
      dns?.socket.close();
    });
    affinityScenarios(() => ({ nginx, a, b, pool: [a.name] }));
  });
});
