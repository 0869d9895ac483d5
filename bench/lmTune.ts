/**
 * Parameter sweep for the language-model unlearning methods on models that `bench/lm.ts --models`
 * trained and kept: for each (method, params) of `--configs`, forget `--source` from the original
 * and audit the model being updated at the given step counts with the target's cheap audits —
 * VerbMem, knowledge under the best wording, loss-attack MIA AUC and its PrivLeak against the
 * retrained model, retained perplexity against the original's. The shared loop draws the same
 * batches whatever `steps` is, so the audit at step s is the model a run of s steps returns.
 * No quantisation or relearning attack (bench/lm.ts runs those on the settings chosen here).
 *
 *   npx tsx bench/lmTune.ts --models DIR/<cache key> --source moby-dick \
 *     --configs '[{"method":"npo-kl","params":{"learningRate":1e-3}}]' --at 10,20,30,40
 *
 * Prints one line per audit, JSON lines to `--out` (appended) when given.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/backend.js';
import { knowledgeAudit } from '../src/lm/audit/knowledge.js';
import { membershipAucs } from '../src/lm/audit/membership.js';
import { privLeak } from '../src/lm/audit/privleak.js';
import { spread } from '../src/lm/audit/index.js';
import { verbMem } from '../src/lm/audit/verbmem.js';
import { disposeModel, type LanguageModel } from '../src/lm/model.js';
import { scoreDocs } from '../src/lm/train.js';
import { defaultProbes, lmForget, openLm } from '../src/lm/workflows.js';

const { values: a } = parseArgs({
  options: {
    models: { type: 'string' },
    source: { type: 'string', default: 'moby-dick' },
    configs: { type: 'string', default: '[{"method":"npo-kl","params":{}}]' },
    at: { type: 'string', default: '10,20,30,40' },
    'verb-passages': { type: 'string', default: '48' },
    out: { type: 'string' },
  },
});
if (!a.models) throw new Error('--models DIR/<cache key> is required (the directory holding original/ and retrain-*/)');
await initEngine('auto');
const source = a.source!;
const at = a.at!.split(',').map(Number);
const configs = JSON.parse(a.configs!) as { method: string; params?: Record<string, unknown> }[];
const o = await openLm(join(a.models, 'original'));
const ref = await openLm(join(a.models, `retrain-${source.replace(/\//g, '-')}`));
const fTrain = o.corpus.train.filter((d) => d.source === source);
const fHeld = o.corpus.heldOut.filter((d) => d.source === source);
const rHeld = o.corpus.heldOut.filter((d) => d.source !== source);
const probes = defaultProbes().filter((p) => p.source === source);
const verbDocs = spread(fTrain, Number(a['verb-passages']));
const cheap = (m: LanguageModel) => {
  const t = performance.now();
  const r = {
    verbMem: verbMem(m, verbDocs).mean,
    knowMax: knowledgeAudit(m, probes).maxWording,
    auc: membershipAucs(m, fTrain, fHeld).loss,
    ppl: scoreDocs(m, rHeld.map((d) => d.text)).perplexity,
  };
  return { ...r, auditSeconds: (performance.now() - t) / 1000 };
};
const R = cheap(ref.model);
const O = cheap(o.model);
const line = (name: string, x: ReturnType<typeof cheap>, extra = '') =>
  `${name.padEnd(60)} VerbMem ${x.verbMem.toFixed(3)} (ref ${R.verbMem.toFixed(3)})  know ${x.knowMax.toFixed(2)} (ref ${R.knowMax.toFixed(2)})  AUC ${x.auc.toFixed(3)} PrivLeak ${privLeak(x.auc, R.auc).toFixed(3)}  ppl ${x.ppl.toFixed(3)} (${((x.ppl / O.ppl - 1) * 100).toFixed(1)}%)${extra}`;
console.log(line('retrain', R));
console.log(line('original', O));
for (const c of configs) {
  const steps = Math.max(...at);
  const label = `${c.method} ${JSON.stringify(c.params ?? {})}`;
  const t0 = performance.now();
  let audited = 0;
  const r = await lmForget({
    ...o,
    source,
    method: c.method,
    params: { ...(c.params ?? {}), steps },
    onStep: (s, _l, m) => {
      if (!m || !at.includes(s + 1)) return;
      const ta = performance.now();
      const x = cheap(m);
      audited += (performance.now() - ta) / 1000;
      const methodSeconds = (performance.now() - t0) / 1000 - audited;
      console.log(line(`${label} @${s + 1}`, x, `  ${methodSeconds.toFixed(0)} s`));
      if (a.out) appendFileSync(a.out, JSON.stringify({ source, method: c.method, params: c.params ?? {}, step: s + 1, methodSeconds, ...x, privLeak: privLeak(x.auc, R.auc), pplRatio: x.ppl / O.ppl, ref: R, original: O }) + '\n');
    },
  });
  disposeModel(r.model);
}
