// Offline check of kubernetes/ (issue 11): every object validates against the
// Kubernetes API schemas (kubernetes-models, pinned in tests/node), and the
// objects hang together (selectors, ports, probe paths, image, Secret keys,
// flags, security context, termination). Prints TAP lines; exits 1 when any
// check fails.
//   node k8s-check.cjs TOOLS_DIR KUBERNETES_DIR REPO_ROOT
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const [tools, kdir, root] = process.argv.slice(2);
const mods = path.resolve(tools, 'node_modules');
const YAML = require(path.join(mods, 'yaml'));

let failed = 0;
const ok = (cond, name) => {
  console.log(`${cond ? 'ok' : 'not ok'} - ${name}`);
  if (!cond) failed++;
  return cond;
};
const read = (f) => fs.readFileSync(path.join(root, f), 'utf8');

const kust = YAML.parse(fs.readFileSync(path.join(kdir, 'kustomization.yaml'), 'utf8'));
const objs = [];
for (const r of kust.resources || []) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(kdir, r), 'utf8'));
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${r}: ${d.errors[0].message}`);
    const o = d.toJS();
    if (o) objs.push({ file: r, o });
  }
}
// The Secret the generator makes (its data is only known at apply time).
for (const g of kust.secretGenerator || []) {
  const data = {};
  for (const f of g.files || []) data[f.split('=')[0]] = '';
  objs.push({ file: 'kustomization.yaml', o: { apiVersion: 'v1', kind: 'Secret',
    metadata: { name: g.name }, type: g.type || 'Opaque', data } });
}

// --- schemas ---------------------------------------------------------------
for (const { file, o } of objs) {
  const name = `${file}: ${o.kind} ${o.metadata && o.metadata.name}`;
  let err = null;
  try {
    const dir = o.apiVersion.includes('/') ? o.apiVersion : o.apiVersion;
    const Model = require(path.join(mods, 'kubernetes-models', dir, o.kind))[o.kind];
    new Model({ ...o, metadata: { ...o.metadata, namespace: kust.namespace } }).validate();
  } catch (e) {
    err = e.message.split('\n').slice(0, 3).join(' ');
  }
  ok(!err, `${name} validates against the API schema${err ? ': ' + err : ''}`);
}

// --- consistency -------------------------------------------------------------
const byKind = (k) => objs.filter((x) => x.o.kind === k).map((x) => x.o);
const deps = byKind('Deployment');
const subset = (sel, labels) => sel && Object.entries(sel).every(([k, v]) => labels[k] === v);
const depOf = (sel) => deps.filter((d) => subset(sel, d.spec.template.metadata.labels));
const ports = (d) => d.spec.template.spec.containers.flatMap((c) => c.ports || []);
const hasPort = (d, p) => ports(d).some((x) => x.name === p || x.containerPort === p);
const env = (c, n) => ((c.env || []).find((e) => e.name === n) || {}).value;

ok(byKind('Namespace').some((n) => n.metadata.name === kust.namespace),
  `the namespace ${kust.namespace} is one of the objects`);
const image = (read('docker/compose.yaml').match(/^\s*image:\s*(\S+)/m) || [])[1];
const realPaths = [...read('frontend/http.c').matchAll(/H2O_STRLIT\("(\/[^"]*)"\)/g)].map((m) => m[1]);
const gen = kust.secretGenerator || [];
const images = (kust.images || []).map((i) => i.name);
ok(images.includes(image), `kustomization images[] names the image of docker/ (${image})`);

for (const d of deps) {
  const n = `Deployment ${d.metadata.name}`;
  const t = d.spec.template.spec;
  ok(subset(d.spec.selector.matchLabels, d.spec.template.metadata.labels),
    `${n}: selector matches its pod labels`);
  ok(t.securityContext && t.securityContext.runAsNonRoot === true &&
    t.securityContext.seccompProfile && t.securityContext.seccompProfile.type === 'RuntimeDefault',
  `${n}: pod runs as non-root with seccomp RuntimeDefault`);
  for (const c of t.containers) {
    const cn = `${n}/${c.name}`;
    const sc = c.securityContext || {};
    ok(sc.readOnlyRootFilesystem === true && sc.allowPrivilegeEscalation === false &&
      sc.runAsNonRoot === true && JSON.stringify((sc.capabilities || {}).drop) === '["ALL"]',
    `${cn}: read-only root, no privilege escalation, no capabilities`);
    ok(c.image === image, `${cn}: image ${c.image} is the image of docker/ (${image})`);
    ok(c.resources && c.resources.requests && c.resources.requests.cpu &&
      c.resources.requests.memory && c.resources.limits && c.resources.limits.memory,
    `${cn}: CPU and memory requests, memory limit`);
    const bin = (c.args || [])[0];
    const src = bin === 'mnist-frontend' ? read('frontend/options.c')
      : bin === 'mnist-worker' ? read('worker/main.c') : null;
    ok(src !== null, `${cn}: runs a program of the project (${bin})`);
    for (const a of (c.args || []).filter((x) => x.startsWith('--'))) {
      ok(src && (src.includes(`"${a}"`) || src.includes(`{"${a.slice(2)}"`)),
        `${cn}: flag ${a} exists in ${bin}`);
    }
    for (const e of c.env || []) {
      const known = src && (src.includes(`"${e.name}"`) ||
        read('common/config.c').includes(e.name) || read('docker/entrypoint.sh').includes(e.name) ||
        (bin === 'mnist-worker' && /MNIST_DECODE_THREADS/.test(e.name)));
      ok(known, `${cn}: variable ${e.name} is read by ${bin}`);
    }
    for (const [kind, p] of [['liveness', c.livenessProbe], ['readiness', c.readinessProbe],
      ['startup', c.startupProbe]]) {
      if (!p) continue;
      ok(hasPort(d, p.httpGet.port), `${cn}: ${kind} probe port ${p.httpGet.port} is a container port`);
      ok(realPaths.includes(p.httpGet.path), `${cn}: ${kind} probe path ${p.httpGet.path} is served`);
    }
    // TLS files: each MNIST_TLS_* path is a file of a mounted Secret volume.
    for (const v of ['MNIST_TLS_CERT', 'MNIST_TLS_KEY', 'MNIST_TLS_CA']) {
      const f = env(c, v);
      const m = (c.volumeMounts || []).find((x) => f && f.startsWith(x.mountPath + '/'));
      const vol = m && t.volumes.find((x) => x.name === m.name);
      const g = vol && vol.secret && gen.find((x) => x.name === vol.secret.secretName);
      const key = f && path.basename(f);
      const item = vol && vol.secret && (vol.secret.items || []).find((i) => i.path === key);
      ok(g && item && g.files.some((x) => x.split('=')[0] === item.key),
        `${cn}: ${v}=${f} is a key of the generated Secret, mounted`);
    }
  }
}

const fe = deps.find((d) => d.spec.template.spec.containers[0].args[0] === 'mnist-frontend');
const wk = deps.find((d) => d.spec.template.spec.containers[0].args[0] === 'mnist-worker');
const arg = (d, flag) => { const a = d.spec.template.spec.containers[0].args; return a[a.indexOf(flag) + 1]; };
if (ok(fe && wk, 'a frontend and a worker Deployment')) {
  const fc = fe.spec.template.spec.containers[0];
  const link = Number(arg(fe, '--workers-url').split(':').pop());
  ok(ports(fe).some((p) => p.containerPort === link && p.name === 'worker-link'),
    `frontend --workers-url port ${link} is its worker-link container port`);
  const m = arg(wk, '--connect').match(/^tls\+tcp:\/\/([^:.]+)[^:]*:(\d+)$/);
  const svc = m && byKind('Service').find((s) => s.metadata.name === m[1]);
  ok(svc && svc.spec.clusterIP === 'None' && svc.spec.publishNotReadyAddresses === true,
    `worker --connect names a headless Service that publishes not-ready frontends (${m && m[1]})`);
  ok(svc && svc.spec.ports.some((p) => p.port === Number(m[2])) && depOf(svc.spec.selector)[0] === fe,
    'that Service selects the frontends on the --connect port');
  const drain = Number(env(fc, 'MNIST_DRAIN_MS') || 5000) / 1000;
  const pre = Number(((fc.lifecycle || {}).preStop || { exec: { command: [0, 0] } }).exec.command[1]);
  ok(fe.spec.template.spec.terminationGracePeriodSeconds >= pre + drain + 3,
    `frontend grace period covers preStop ${pre} s + drain ${drain} s + 3 s`);
  ok(wk.spec.template.spec.terminationGracePeriodSeconds >= 11,
    'worker grace period covers its 10 s answer-and-exit bound');
}
for (const s of byKind('Service')) {
  const ds = depOf(s.spec.selector);
  ok(ds.length === 1, `Service ${s.metadata.name} selects one Deployment's pods`);
  for (const p of s.spec.ports) {
    ok(ds.length === 1 && hasPort(ds[0], p.targetPort), `Service ${s.metadata.name}: targetPort ${p.targetPort} exists`);
  }
}
for (const h of byKind('HorizontalPodAutoscaler')) {
  const d = deps.find((x) => x.metadata.name === h.spec.scaleTargetRef.name &&
    h.spec.scaleTargetRef.kind === 'Deployment');
  ok(d, `HPA ${h.metadata.name} scales an existing Deployment`);
  ok(d && d.spec.template.spec.containers.every((c) => c.resources.requests.cpu),
    `HPA ${h.metadata.name}: its pods request CPU (utilisation needs it)`);
}
for (const p of byKind('PodDisruptionBudget')) {
  const ds = depOf(p.spec.selector.matchLabels);
  ok(ds.length === 1 && p.spec.minAvailable < ds[0].spec.replicas,
    `PDB ${p.metadata.name} selects one Deployment and lets a pod go`);
}
for (const np of byKind('NetworkPolicy')) {
  const ds = depOf(np.spec.podSelector.matchLabels);
  ok(ds.length === 1, `NetworkPolicy ${np.metadata.name} selects one Deployment's pods`);
  for (const rule of np.spec.ingress || []) {
    for (const p of rule.ports || []) {
      ok(ds.length === 1 && hasPort(ds[0], p.port), `NetworkPolicy ${np.metadata.name}: port ${p.port} exists`);
    }
    for (const f of rule.from || []) {
      ok(f.podSelector && depOf(f.podSelector.matchLabels).length === 1,
        `NetworkPolicy ${np.metadata.name}: peers are the service's own pods`);
    }
  }
}
if (fe) {
  const np = byKind('NetworkPolicy').find((x) => depOf(x.spec.podSelector.matchLabels)[0] === fe);
  const linkRules = np ? np.spec.ingress.filter((r) => (r.ports || []).some((p) => p.port === 'worker-link' || p.port === 9100)) : [];
  ok(linkRules.length > 0 && linkRules.every((r) => r.from && r.from.length > 0 &&
    r.from.every((f) => f.podSelector && depOf(f.podSelector.matchLabels)[0] === wk)),
  'only worker pods may reach the frontends\' worker link');
}
process.exit(failed ? 1 : 0);
