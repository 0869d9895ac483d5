/**
 * `npm run demo:service`: the deletion-request service on the demo's spam filter. Trains the
 * plain network, the SISA ensemble and the certified logistic regression on the SpamAssassin
 * emails (the settings of `unlearn demo`), starts the service, registers the three, files
 * requests for three senders with different purposes, shows the proposed terms, accepts them,
 * waits for the certificates, verifies each certificate and the log, writes each certificate
 * (the compact JWS) under `<out>/certificates/`, and prints the table.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hashIds } from '../data/dataset.js';
import { loadDataset } from '../data/registry.js';
import { initEngine } from '../engine/backend.js';
import { ensureDir } from '../models/io.js';
import { trainCertifiedWorkflow } from '../unlearn/certified/format.js';
import { DEMO_CERTIFIED } from '../workflows/certifiedDemo.js';
import { DEMO_SISA } from '../workflows/sisaDemo.js';
import { sisaTrainWorkflow } from '../unlearn/sisa/index.js';
import { DEMO_MODEL, DEMO_RECIPE, defaultDemoSubject, trainWorkflow, writeTextAtomic } from '../workflows.js';
import { createToken } from './auth.js';
import { subjectPseudonym } from './context.js';
import { verifyCertificate } from './evidence/certificate.js';
import { verifyLog } from './evidence/log.js';
import { storeLogStorage } from './ledger.js';
import { startService } from './server.js';
import { FAST_POLICY } from './testing.js';

/** Run the service demo into `out`; returns the printed table. */
export async function runServiceDemo(o: { out: string; log?: (l: string) => void }): Promise<string> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const out = resolve(o.out);
  await ensureDir(join(out, 'certificates'));
  await initEngine('auto');
  const split = await loadDataset('emails', { seed: 0 });
  // Three senders: the demo's default one and the next two by training emails (≤ 5% of the set each).
  const counts = new Map<string, number>();
  for (const s of split.train.subjects) counts.set(s, (counts.get(s) ?? 0) + 1);
  const first = defaultDemoSubject(split);
  const cap = 0.05 * split.train.labels.length;
  const ranked = [...counts].filter(([s, c]) => c <= cap && s !== first && !s.startsWith('unknown:')).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const senders = [first, ranked[0][0], ranked[1][0]];
  const models = join(out, 'models');
  await trainServiceModels(models, log);

  const dataRoot = join(out, 'service');
  const policyPath = join(out, 'policy.yaml');
  writeFileSync(policyPath, FAST_POLICY);
  const svc = await startService({ dataRoot, policyPath, port: 0, tickMs: 200, log });
  try {
    const api = async (path: string, token: string, method = 'GET', body?: unknown) => {
      const r = await fetch(svc.url + path, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
      const data = (await r.json()) as any;
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${data.detail}`);
      return data;
    };
    const op = (await createToken(svc.ctx.store, { role: 'operator' })).secret;
    for (const id of ['plain', 'sisa', 'certified']) await api('/v1/models', op, 'POST', { id, dir: join(models, id) });
    log('registered plain, sisa and certified');
    const purposes = ['privacy', 'correction', 'security'] as const;
    const filed: { id: string; purpose: string; token: string; subject: string; at: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const pseudo = subjectPseudonym(svc.ctx, senders[i]);
      const token = (await createToken(svc.ctx.store, { role: 'requester', subjects: [pseudo] })).secret;
      const at = Date.now();
      const r = await api('/v1/deletion-requests', token, 'POST', { subject: senders[i], purpose: purposes[i] });
      filed.push({ id: r.id, purpose: purposes[i], token, subject: pseudo, at });
      log(`filed ${r.id}: sender ${pseudo} (${counts.get(senders[i])} training emails), purpose ${purposes[i]}, deadline ${r.deadline.slice(0, 10)}`);
    }
    // Proposals: accept the ones that wait for the requester.
    for (const f of filed) {
      const s = await waitStatus(api, f, (x) => x !== 'received');
      if (s.terms) log(`proposal for ${f.id} (${f.purpose}): ${s.terms.inWords}; ${s.plans.map((p: any) => `${p.model}: ${p.method}, est ${p.estimateSeconds.toFixed(1)} s`).join('; ')}${s.terms.autoAccept ? ' (auto-accepted by policy)' : ''}`);
      if (s.status === 'planned') {
        await api(`/v1/deletion-requests/${f.id}/accept`, f.token, 'POST', {});
        log(`accepted ${f.id}`);
      }
    }
    const rows: string[][] = [];
    const jwks = svc.ctx.ledger.jwks();
    for (const f of filed) {
      const s = await waitStatus(api, f, (x) => ['completed', 'refused', 'rejected'].includes(x), 3_600_000);
      const seconds = (Date.parse(s.completedAt ?? new Date().toISOString()) - f.at) / 1000;
      let verified = 'no certificate';
      if (s.hasCertificate) {
        const { certificate } = await api(`/v1/deletion-requests/${f.id}/certificate`, f.token);
        await writeTextAtomic(join(out, 'certificates', `${f.id}.jws`), certificate);
        verified = (await verifyCertificate(certificate, jwks)).ok ? 'verifies' : 'DOES NOT VERIFY';
      }
      for (const p of s.plans) {
        const alts = p.alternatives.map((a: any) => `${a.path} ${a.estimateSeconds.toFixed(1)} s${a.meets ? '' : ' (does not meet)'}`).join('; ');
        rows.push([f.id.slice(0, 11) + '…', f.purpose, p.guarantee, `${p.model}: ${p.method}`, alts, p.actualSeconds === null ? '-' : `${p.actualSeconds.toFixed(1)} s`, `${seconds.toFixed(1)} s (${s.status}, certificate ${verified})`]);
      }
    }
    const storage = storeLogStorage(svc.ctx.store);
    await svc.ctx.ledger.treeHead();
    const lv = await verifyLog(await storage.entries(0, await storage.size()), await svc.ctx.ledger.treeHeads(), jwks);
    const header = ['request', 'purpose', 'guarantee', 'method chosen', 'alternatives (estimates)', 'actual cost', 'time to certificate'];
    const table = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
    const summary = `log: ${lv.ok ? 'verifies' : 'DOES NOT VERIFY'} (${lv.size} entries); certificates in ${join(out, 'certificates')}; lineage sha256 of the training set ${hashIds([...split.train.ids]).slice(0, 12)}…`;
    await writeTextAtomic(join(out, 'table.md'), table + '\n\n' + summary + '\n');
    return table + '\n\n' + summary;
  } finally {
    await svc.close();
  }
}

/**
 * Train the service demo's three spam filters on the SpamAssassin emails (seed 0, the settings of
 * `unlearn demo`) into `<models>/plain`, `<models>/sisa` and `<models>/certified`, logging each
 * training's wall time. Each manifest records its training wall time (the planner's `T`).
 */
export async function trainServiceModels(models: string, log: (l: string) => void): Promise<{ plain: string; sisa: string; certified: string }> {
  await initEngine('auto');
  const t = (label: string) => {
    const t0 = performance.now();
    return () => log(`${label} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };
  let done = t('trained the plain spam filter');
  await trainWorkflow({ dataset: 'emails', dataOptions: { seed: 0 }, kind: DEMO_MODEL.kind, hidden: DEMO_MODEL.hidden, recipe: { ...DEMO_RECIPE, seed: 0 }, out: join(models, 'plain'), quiet: true });
  done();
  done = t(`trained the SISA ensemble (${DEMO_SISA.shards} shards × ${DEMO_SISA.slices} slices)`);
  await sisaTrainWorkflow({ dataset: 'emails', dataOptions: { seed: 0 }, kind: DEMO_MODEL.kind, hidden: DEMO_MODEL.hidden, recipe: { ...DEMO_RECIPE, seed: 0 }, sisa: DEMO_SISA, out: join(models, 'sisa') });
  done();
  done = t('trained the certified logistic regression');
  await trainCertifiedWorkflow({ dataset: 'emails', dataOptions: { seed: 0, dim: DEMO_CERTIFIED.dim }, kind: 'logreg', params: DEMO_CERTIFIED.params, out: join(models, 'certified'), seed: 0 });
  done();
  return { plain: join(models, 'plain'), sisa: join(models, 'sisa'), certified: join(models, 'certified') };
}

async function waitStatus(api: (p: string, t: string) => Promise<any>, f: { id: string; token: string }, done: (s: string) => boolean, ms = 600_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await api(`/v1/deletion-requests/${f.id}`, f.token);
    if (done(s.status) || Date.now() > end) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
}
