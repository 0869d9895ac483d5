import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { checkAudits, describeGuarantee, guaranteeMeets, loadPolicy, parsePolicy, ruleFor, type Guarantee } from './policy.js';
import { isUnlearnError } from '../../errors.js';

const EXAMPLE = new URL('../../../examples/policy.yaml', import.meta.url).pathname;

test('the example policy loads; its hash is the SHA-256 of the file bytes; JSON works too', async () => {
  const { policy, sha256 } = await loadPolicy(EXAMPLE);
  assert.equal(sha256, createHash('sha256').update(await readFile(EXAMPLE)).digest('hex'));
  assert.deepEqual(policy.purposes.privacy.guarantee, { kind: 'certified', epsilon: 1, delta: 1e-5 });
  assert.equal(ruleFor(policy, 'security').deadlineDays, 7);
  assert.equal(ruleFor(policy, 'privacy').deadlineDays, 30);
  const dir = await mkdtemp(join(tmpdir(), 'unlearn-policy-'));
  try {
    const raw = (await import('yaml')).parse(await readFile(EXAMPLE, 'utf8'));
    await writeFile(join(dir, 'p.json'), JSON.stringify(raw));
    assert.deepEqual((await loadPolicy(join(dir, 'p.json'))).policy, policy);
    await assert.rejects(loadPolicy(join(dir, 'missing.yaml')), (e) => isUnlearnError(e, 'IO_ERROR'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('defaults: deadline 30 days, batching every 6 h or 50 waiting, no auto-accept', () => {
  const purposes = Object.fromEntries(['privacy', 'copyright', 'correction', 'bias', 'security'].map((p) => [p, { guarantee: 'exact' }]));
  const p = parsePolicy(stringify({ purposes }));
  assert.equal(p.deadlineDays, 30);
  assert.deepEqual(p.purposes.bias.batching, { windowHours: 6, maxWaiting: 50 });
  assert.equal(p.purposes.bias.autoAccept, false);
});

test('invalid policies: one-line INVALID_PARAMS naming the field', async () => {
  const base = (await import('yaml')).parse(await readFile(EXAMPLE, 'utf8'));
  const cases: [string, (p: any) => void, RegExp][] = [
    ['missing purpose', (p) => delete p.purposes.bias, /purposes\.bias: required$/],
    ['unknown purpose', (p) => (p.purposes.marketing = p.purposes.bias), /Unrecognized key.*marketing/],
    ['unknown top-level field', (p) => (p.deadline = 3), /Unrecognized key.*deadline/],
    ['negative ε', (p) => (p.purposes.privacy.guarantee.certified.epsilon = -1), /purposes\.privacy\.guarantee\.certified\.epsilon: /],
    ['δ ≥ 1', (p) => (p.purposes.privacy.guarantee.certified.delta = 1), /purposes\.privacy\.guarantee\.certified\.delta: /],
    ['unknown guarantee', (p) => (p.purposes.security.guarantee = 'perfect'), /purposes\.security\.guarantee: give exact, \{certified/],
    ['unknown audit', (p) => (p.purposes.copyright.guarantee.approximate.audits.vibes = 0.1), /purposes\.copyright\.guarantee\.approximate\.audits: .*vibes/],
    ['no audits', (p) => (p.purposes.copyright.guarantee.approximate.audits = {}), /purposes\.copyright\.guarantee\.approximate\.audits: name at least one audit/],
    ['margin above 1', (p) => (p.purposes.copyright.guarantee.approximate.audits.verbMem = 2), /audits\.verbMem: /],
    ['deadline over a month', (p) => (p.deadlineDays = 45), /deadlineDays: /],
    ['fractional deadline', (p) => (p.purposes.security.deadlineDays = 1.5), /purposes\.security\.deadlineDays: /],
    ['batching window 0', (p) => (p.purposes.privacy.batching.windowHours = 0), /purposes\.privacy\.batching\.windowHours: /],
    ['maxWaiting 0', (p) => (p.purposes.privacy.batching.maxWaiting = 0), /purposes\.privacy\.batching\.maxWaiting: /],
    ['autoAccept a string', (p) => (p.purposes.privacy.autoAccept = 'yes'), /purposes\.privacy\.autoAccept: /],
    ['version 2', (p) => (p.version = 2), /version: /],
  ];
  for (const [desc, change, re] of cases) {
    const p = structuredClone(base);
    change(p);
    assert.throws(
      () => parsePolicy(stringify(p), 'policy.yaml'),
      (e) => isUnlearnError(e, 'INVALID_PARAMS') && e.message.startsWith('policy.yaml: ') && !e.message.includes('\n') && re.test(e.message),
      desc,
    );
  }
  assert.throws(() => parsePolicy('purposes: [unclosed', 'p.yaml'), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /^p\.yaml: not YAML or JSON/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => parsePolicy('', 'p.yaml'), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /p\.yaml: \(top level\)/.test(e.message));
});

test('guaranteeMeets: exact meets all; certified by ε and δ; approximate by audits and margins', () => {
  const exact: Guarantee = { kind: 'exact' };
  const cert = (epsilon: number, delta = 0): Guarantee => ({ kind: 'certified', epsilon, delta });
  const approx = (audits: Record<string, number>): Guarantee => ({ kind: 'approximate', audits });
  assert.ok(guaranteeMeets(exact, exact));
  assert.ok(!guaranteeMeets(exact, cert(0.01)));
  assert.ok(guaranteeMeets(cert(1, 1e-5), exact));
  assert.ok(guaranteeMeets(cert(1, 1e-5), cert(0.5, 1e-6)));
  assert.ok(!guaranteeMeets(cert(1, 1e-5), cert(1.5, 1e-6)));
  assert.ok(!guaranteeMeets(cert(1, 1e-5), cert(0.5, 1e-4)));
  assert.ok(!guaranteeMeets(cert(1), approx({ verbMem: 0 })));
  const req = approx({ verbMem: 0.02, knowledgeParaphrase: 0.02 });
  assert.ok(guaranteeMeets(req, cert(5)));
  assert.ok(guaranteeMeets(req, approx({ verbMem: 0.01, knowledgeParaphrase: 0.02, miaAuc: 0.1 })));
  assert.ok(!guaranteeMeets(req, approx({ verbMem: 0.01 })));
  assert.ok(!guaranteeMeets(req, approx({ verbMem: 0.03, knowledgeParaphrase: 0.02 })));
});

test('describeGuarantee says in plain words what is and is not guaranteed', () => {
  assert.equal(describeGuarantee({ kind: 'approximate', audits: { verbMem: 0 } }), "approximate: verbatim reproduction at the retrained model's level; membership not guaranteed; measured by audits, not proved");
  assert.match(describeGuarantee({ kind: 'approximate', audits: { verbMem: 0.02, miaAuc: 0.05 } }), /\(\+0\.02\); membership-inference AUC within ±0\.05/);
  assert.doesNotMatch(describeGuarantee({ kind: 'approximate', audits: { miaAuc: 0.05 } }), /membership not guaranteed/);
  assert.match(describeGuarantee({ kind: 'certified', epsilon: 1, delta: 1e-5 }), /^certified: \(ε = 1, δ = 1e-5\)/);
  assert.match(describeGuarantee({ kind: 'exact' }), /^exact: retrained without the data/);
});

test('checkAudits compares measured figures with the reference and names each failure', () => {
  const r = checkAudits({ verbMem: 0.02, forgetAccuracy: 0.02, miaAuc: 0.05 }, {
    verbMem: { value: 0.11, reference: 0.1, n: 200 },
    forgetAccuracy: { value: 0.9, reference: 0.95, n: 100 },
  });
  assert.equal(r.ok, false);
  assert.deepEqual(r.failures, ['forgetAccuracy: 0.9 against the reference\'s 0.95 (n = 100) exceeds the margin 0.02', 'miaAuc: not measured']);
  assert.ok(checkAudits({ verbMem: 0.02 }, { verbMem: { value: 0.05, reference: 0.1, n: 10 } }).ok);
});
