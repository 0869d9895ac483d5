import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isUnlearnError } from '../../errors.js';
import { forgetWorkflow, evalWorkflow } from '../../workflows.js';
import { trainCertifiedWorkflow } from './format.js';
import { loadCertified } from './store.js';

test('certified directory: train (ridge), forget through the format handler, load, detect corruption', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'unlearn-certified-'));
  try {
    const m = await trainCertifiedWorkflow({ dataset: 'cps-wages', kind: 'ridge', params: { lambda: 1 }, out: join(dir, 'v1') });
    assert.equal(m.format, 'unlearn-certified/1');
    assert.equal(m.certificate.guarantee, 'exact');
    const r = await forgetWorkflow({ modelDir: join(dir, 'v1'), selector: { ids: ['cps/0', 'cps/5'] }, out: join(dir, 'v2') });
    assert.equal(r.manifest.method.id, 'ridge-exact');
    assert.equal(r.manifest.parent, m.modelHash);
    assert.deepEqual(r.manifest.removed!.ids, ['cps/0', 'cps/5']);
    assert.equal(r.manifest.lineage.numExamples, m.lineage.numExamples - 2);
    const loaded = await loadCertified(join(dir, 'v2'));
    assert.equal(loaded.manifest.modelHash, r.manifest.modelHash);
    const ev = await evalWorkflow({ modelDir: join(dir, 'v2') });
    assert.equal(ev.model.TA, r.evaluation.TA);
    await assert.rejects(forgetWorkflow({ modelDir: join(dir, 'v2'), selector: { ids: ['cps/0'] }, out: join(dir, 'v3') }), (e) => isUnlearnError(e, 'SUBJECT_NOT_FOUND'));
    // Defect 8: params are validated (the removal has none: ε etc. are fixed at training); a method is a usage error, as for SISA.
    for (const params of [{ bogus: 1 }, { epsilon: 5 }]) {
      await assert.rejects(forgetWorkflow({ modelDir: join(dir, 'v2'), selector: { ids: ['cps/1'] }, params, out: join(dir, 'v3') }), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /takes no params/.test((e as Error).message));
    }
    await assert.rejects(forgetWorkflow({ modelDir: join(dir, 'v2'), selector: { ids: ['cps/1'] }, method: 'scrub', out: join(dir, 'v3') }), (e) => isUnlearnError(e, 'INVALID_ARGS'));
    // Defect 5: an edited certified manifest is refused.
    const mp = join(dir, 'v2', 'manifest.json');
    const text = await readFile(mp, 'utf8');
    await writeFile(mp, text.replace(/"wallSeconds": [0-9.e-]+/, '"wallSeconds": 1234'));
    await assert.rejects(loadCertified(join(dir, 'v2')), (e) => isUnlearnError(e, 'MODEL_CORRUPT') && /manifestSha256/.test((e as Error).message));
    await writeFile(mp, text);
    const p = join(dir, 'v2', 'params.bin');
    const b = await readFile(p);
    b[3] ^= 1;
    await writeFile(p, b);
    await assert.rejects(loadCertified(join(dir, 'v2')), (e) => isUnlearnError(e, 'MODEL_CORRUPT'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
