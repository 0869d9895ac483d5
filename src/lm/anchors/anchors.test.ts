/**
 * Anchor dictionaries and translation (hand-computed strings and byte maps), and the alignment of
 * a translated batch with the original one used by the generic-label method.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUnlearnError } from '../../errors.js';
import { sourceTexts } from '../data.js';
import { alignAnchors } from '../methods/genericLabels.js';
import { BOS, encode } from '../tokenizer.js';
import { anchorDictionaries, anchorDictionaryFor, loadAnchorDictionary, parseAnchorDictionary, ROLE_ANCHOR_FIRST, ROLE_ANCHOR_REST, ROLE_COPY, translate } from './anchors.js';

const dict = (entries: [string, string][]) => parseAnchorDictionary({ source: 'test', provenance: 'test', entries: entries.map(([term, generic]) => ({ term, generic })) });
const ahab = dict([['Ahab', 'the captain']]);

test("translate: \"Ahab's ship\" → \"the captain's ship\" with the hand-computed byte map", () => {
  const tr = translate("Ahab's ship", ahab);
  assert.equal(tr.text, "the captain's ship");
  // original bytes: A0 h1 a2 b3 '4 s5 _6 s7 h8 i9 p10; translated: "the captain" = 0..10, '11 s12 _13 s14 h15 i16 p17
  assert.deepEqual([...tr.byteMap], [0, -1, -1, -1, 11, 12, 13, 14, 15, 16, 17]);
  assert.deepEqual([...tr.role], [ROLE_ANCHOR_FIRST, ROLE_ANCHOR_REST, ROLE_ANCHOR_REST, ROLE_ANCHOR_REST, ...Array(7).fill(ROLE_COPY)]);
  assert.deepEqual(tr.spans, [{ term: 'Ahab', generic: 'the captain', start: 0, end: 4, translatedStart: 0, translatedEnd: 11 }]);
  // every copied byte maps to the same byte value
  const o = encode(tr.original);
  const t = encode(tr.text);
  for (let i = 0; i < o.length; i++) if (tr.role[i] === ROLE_COPY) assert.equal(t[tr.byteMap[i]], o[i]);
});

test('translate: shorter translations shift left; multi-byte characters are counted in bytes', () => {
  const d = dict([['Queequeg', 'Jo']]);
  const tr = translate('Café Queequeg é.', d);
  assert.equal(tr.text, 'Café Jo é.');
  // "Café " = C a f é(2 bytes) space = 6 bytes; Queequeg = bytes 6..13; " é." = 14, 15-16, 17
  assert.equal(tr.byteMap.length, 18);
  assert.deepEqual([...tr.byteMap.slice(0, 7)], [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...tr.byteMap.slice(7, 14)], Array(7).fill(-1));
  assert.deepEqual([...tr.byteMap.slice(14)], [8, 9, 10, 11]);
  assert.deepEqual(tr.spans[0], { term: 'Queequeg', generic: 'Jo', start: 6, end: 14, translatedStart: 6, translatedEnd: 8 });
});

test('translate: longest term first at each position', () => {
  const d = dict([['Moby', 'X'], ['Dick', 'Y'], ['Moby Dick', 'the old whale'], ['Ahab', 'the captain'], ['Captain Ahab', 'the skipper']]);
  assert.equal(translate('Moby Dick swam; Moby swam, Dick too.', d).text, 'the old whale swam; X swam, Y too.');
  assert.equal(translate('Captain Ahab and Ahab', d).text, 'the skipper and the captain');
  // a longer term that fails the whole-word test falls back to a shorter one
  assert.equal(translate('Moby Dickens', d).text, 'X Dickens');
});

test('translate: whole words only, case-sensitive, no partial-word matches', () => {
  const tr = translate('Ahabs xAhab Ahab_ Ahab1 éAhab ahab AHAB Ahab-like (Ahab) Ahab.', ahab);
  assert.equal(tr.text, 'Ahabs xAhab Ahab_ Ahab1 éAhab ahab AHAB the captain-like (the captain) the captain.');
  assert.equal(tr.spans.length, 3);
  assert.equal(translate('No anchors here.', ahab).spans.length, 0);
  assert.equal(translate('No anchors here.', ahab).text, 'No anchors here.');
});

test('dictionaries: invalid content is DATASET_INVALID, a missing file DATASET_MISSING', () => {
  assert.throws(() => dict([['Ahab', 'x'], ['Ahab', 'y']]), (e) => isUnlearnError(e, 'DATASET_INVALID'));
  assert.throws(() => dict([[' Ahab', 'x']]), (e) => isUnlearnError(e, 'DATASET_INVALID'));
  assert.throws(() => parseAnchorDictionary({ source: 's', entries: [{ term: 'a', generic: 'b' }] }), (e) => isUnlearnError(e, 'DATASET_INVALID')); // no provenance
  const dir = mkdtempSync(join(tmpdir(), 'anchors-'));
  try {
    writeFileSync(join(dir, 'bad.json'), '{ not json');
    assert.throws(() => loadAnchorDictionary(join(dir, 'bad.json')), (e) => isUnlearnError(e, 'DATASET_INVALID'));
    assert.throws(() => loadAnchorDictionary(join(dir, 'absent.json')), (e) => isUnlearnError(e, 'DATASET_MISSING'));
    rmSync(join(dir, 'bad.json'));
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ source: 's', provenance: 'p', entries: [{ term: 'a', generic: 'b' }] }));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ source: 's', provenance: 'p', entries: [{ term: 'c', generic: 'd' }] }));
    assert.throws(() => anchorDictionaries(dir), (e) => isUnlearnError(e, 'DATASET_INVALID')); // two files, one source
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shipped dictionaries: the three probed sources, with provenance; every term occurs in its source', () => {
  const want: Record<string, number> = { 'moby-dick': 25, 'sotu/abraham-lincoln': 5, 'sotu/george-washington': 5 };
  const texts = sourceTexts();
  for (const [source, min] of Object.entries(want)) {
    const d = anchorDictionaryFor(source);
    assert.ok(d, `no dictionary for ${source}`);
    assert.ok(d.entries.length >= min, `${source}: ${d.entries.length} entries`);
    assert.match(d.provenance, /written for this project/i);
    const text = texts.get(source)!;
    for (const e of d.entries) {
      const tr = translate(text, { ...d, entries: [e] });
      assert.ok(tr.spans.length > 0, `${source}: "${e.term}" never occurs as a whole word`);
    }
  }
  assert.equal(anchorDictionaryFor('sotu/barack-obama'), null);
  // the part of Moby-Dick that the default corpus keeps (≈ 12.6 KB) holds many anchors
  assert.ok(translate(texts.get('moby-dick')!.slice(0, 12600), anchorDictionaryFor('moby-dick')!).spans.length >= 20);
});

test('alignAnchors: "Ahab\'s ship" at T = 16, hand-computed rows (translated, masked, past the window)', () => {
  const texts = ["Ahab's ship", 'Ahab'];
  const T = 16;
  const al = alignAnchors(texts, [translate(texts[0], ahab), null], T);
  // translated row 0: inputs = BOS + the first 15 bytes of "the captain's ship" (targets reach byte 15)
  assert.deepEqual([...al.translatedInputs.slice(0, T)], [BOS, ...encode("the captain's s")]);
  // row 1 has no translation: its own inputs (BOS + all bytes but the last, then BOS padding)
  assert.deepEqual([...al.translatedInputs.slice(T, T + 5)], [BOS, ...encode('Aha'), BOS]);
  const BT = 2 * T;
  // t = 0 (predicts 'A') → translated j = 0; t = 4 ("'") → j = 11 … t = 8 ('h') → j = 15;
  // t = 9, 10 → j = 16, 17 ≥ T: the original position (fallback); t ≥ 11: padding, identity.
  const row0 = [BT + 0, 1, 2, 3, BT + 11, BT + 12, BT + 13, BT + 14, BT + 15, 9, 10, 11, 12, 13, 14, 15];
  assert.deepEqual([...al.baseRow.slice(0, T)], row0);
  assert.deepEqual([...al.mask.slice(0, T)], [1, 0, 0, 0, ...Array(12).fill(1)]);
  assert.deepEqual([...al.baseRow.slice(T)], Array.from({ length: T }, (_, t) => T + t));
  assert.deepEqual([...al.mask.slice(T)], Array(T).fill(1));
  assert.deepEqual(al.counts, { translated: 6, fallback: 2, masked: 3, anchors: 1 });
  assert.throws(() => alignAnchors(['other text'], [translate(texts[0], ahab)], T));
});
