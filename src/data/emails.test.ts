import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import type { DataSplit } from './dataset.js';
import { parseEmail, readEmailCorpus, spamAssassinPackage, type ParsedEmail } from './emailCorpus.js';
import { emailLoadStats, emailSenders, loadEmails } from './emails.js';
import { pseudonymise, SubjectIndex } from './pseudonym.js';
import { hashIndex } from './text.js';

// One corpus read (parse or cache) shared by every test; splits are cheap to rebuild from it.
let docs: ParsedEmail[];
let s0: DataSplit;
before(async () => {
  docs = (await readEmailCorpus()).docs;
  s0 = await loadEmails({ dim: 1024 });
});

const GROUP_COUNTS = { 'easy-ham-1': 2500, 'easy-ham-2': 1400, 'hard-ham-1': 250, 'spam-1': 500, 'spam-2': 1396 };

test('emails: 6,046 messages, labels by group, stratified 80/20 split', () => {
  assert.equal(docs.length, 6046);
  const byGroup: Record<string, number> = {};
  for (const d of docs) byGroup[d.group] = (byGroup[d.group] ?? 0) + 1;
  assert.deepEqual(byGroup, GROUP_COUNTS);
  const n = s0.train.labels.length + s0.test.labels.length;
  assert.equal(n, 6046);
  assert.equal(s0.test.labels.length, Math.round(6046 * 0.2));
  const label = new Map<string, number>();
  for (const ds of [s0.train, s0.test]) ds.ids.forEach((id, i) => label.set(id, ds.labels[i]));
  for (const d of docs) assert.equal(label.get(d.id), d.group.startsWith('spam-') ? 1 : 0, d.id);
  const spam = [...label.values()].filter((y) => y === 1).length;
  assert.equal(spam, 500 + 1396);
  const testSpam = s0.test.labels.reduce((a, y) => a + y, 0);
  assert.equal(testSpam, Math.round(1896 * 0.2)); // 379: stratified
  assert.deepEqual(s0.classNames, ['ham', 'spam']);
  assert.deepEqual(s0.options, { seed: 0, testFraction: 0.2, dim: 1024, cache: true });
  assert.equal((s0.meta.split as { seed: number }).seed, 0);
  assert.ok(emailLoadStats(s0));
});

test('emails: sender normalisation, MIME/charset decoding, HTML fallback', () => {
  const e = docs.find((d) => d.id === 'easy-ham-1/00001')!;
  assert.equal(e.sender, 'kre@munnari.oz.au'); // From: Robert Elz <kre@munnari.OZ.AU>
  assert.match(e.fromHeader, /Robert Elz/);
  assert.deepEqual(e.tokens.slice(0, 4), ['s:re', 's:new', 's:sequences', 's:window']);
  assert.equal(docs.find((d) => d.id === 'spam-1/00001')!.sender, '12a1mailbot1@web.de');
  // RFC 2047 ISO-2022-JP subject decoded by mailparser
  assert.ok(docs.find((d) => d.id === 'hard-ham-1/00039')!.tokens.includes('s:サブジェクト'));
  // multipart/alternative with only an HTML part: body from html-to-text
  assert.ok(docs.find((d) => d.id === 'hard-ham-1/00221')!.tokens.filter((t) => !t.startsWith('s:')).length > 20);
  const unknown = docs.filter((d) => d.sender.startsWith('unknown:'));
  assert.ok(unknown.length < 20);
  for (const d of unknown) assert.equal(d.sender, `unknown:${d.id}`);
  for (const d of docs) assert.equal(d.sender, d.sender.toLowerCase());
  const senders = emailSenders(s0)!;
  assert.equal(senders.size, 6046);
  assert.equal(senders.get('easy-ham-1/00001')!.address, 'kre@munnari.oz.au');
  assert.equal(JSON.stringify(s0).includes('Robert Elz'), false); // raw headers stay out of the split
});

test('emails: cached records equal a fresh parse of the same raw files', async () => {
  const { dir } = spamAssassinPackage();
  for (const id of ['easy-ham-1/00001', 'hard-ham-1/00039', 'hard-ham-1/00221', 'spam-2/00030']) {
    const [group, num] = id.split('/');
    const file = readdirSync(path.join(dir, 'data', group)).find((f) => f.startsWith(num + '.') && f.endsWith('.json'))!;
    const rec = JSON.parse(readFileSync(path.join(dir, 'data', group, file), 'utf8'));
    assert.deepEqual(await parseEmail(rec.text, id, group), docs.find((d) => d.id === id));
  }
});

test('emails: features are hashed, L2-normalised bags of words', () => {
  const d = 1024;
  const i = s0.train.ids.indexOf('easy-ham-1/00001');
  const side = i >= 0 ? s0.train : s0.test;
  const k = i >= 0 ? i : s0.test.ids.indexOf('easy-ham-1/00001');
  const row = side.features.subarray(k * d, (k + 1) * d);
  const norm = Math.hypot(...row);
  assert.ok(Math.abs(norm - 1) < 1e-5);
  assert.ok(row[hashIndex('s:sequences', d)] > 0);
  assert.equal(side.subjects[k], 'kre@munnari.oz.au');
});

test('emails: same seed → same fingerprint; another seed → another; default dim 16384', async () => {
  const again = await loadEmails({ dim: 1024, seed: 0 });
  assert.equal(again.fingerprint, s0.fingerprint);
  const other = await loadEmails({ dim: 1024, seed: 1 });
  assert.notEqual(other.fingerprint, s0.fingerprint);
  const full = await loadEmails();
  assert.deepEqual(full.train.shape, [16384]);
  assert.equal(full.options.dim, 16384);
  assert.deepEqual(full.test.ids, s0.test.ids);
});

test('emails: pseudonyms are stable per split and change with the key', () => {
  const a = SubjectIndex.forSplit(s0, s0.fingerprint);
  const b = SubjectIndex.forSplit(s0, s0.fingerprint);
  const c = SubjectIndex.forSplit(s0, 'another key');
  const p = a.pseudonym('kre@munnari.oz.au')!;
  assert.equal(p, pseudonymise('kre@munnari.oz.au', s0.fingerprint));
  assert.equal(b.pseudonym('kre@munnari.oz.au'), p);
  assert.notEqual(c.pseudonym('kre@munnari.oz.au'), p);
  assert.equal(a.resolve(p), 'kre@munnari.oz.au');
  assert.equal(a.size, new Set(docs.map((d) => d.sender)).size);
  assert.equal(a.size, (s0.meta.distinctSenders as { all: number }).all);
});
