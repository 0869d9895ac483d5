import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import seedrandom from 'seedrandom';
import {
  CompactRange,
  consistencyProof,
  emptyRoot,
  fromB64u,
  fromHex,
  inclusionProof,
  leafHash,
  nodeHash,
  rootFromLeafHashes,
  rootsAtSizes,
  toB64u,
  toHex,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';
import { isUnlearnError } from '../../errors.js';

/*
 * Published RFC 6962 / RFC 9162 vectors from the transparency-dev/merkle Go module (the
 * Certificate Transparency project's Merkle library, successor of certificate-transparency-go's):
 * - leaf inputs, node hashes and roots of sizes 0..8: testonly/constants.go
 *   (commit 582a6ad190b6848f1d26f8bf08ddef29955d9db1);
 * - inclusion and consistency proofs: proof/verify_test.go
 *   (commit 02194e9afb6c1d95b5381350007963aa70fff472); there the leaf numbers are 1-based,
 *   here converted to 0-based indices.
 */
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(fromHex);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const LEAF_HASHES = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
  '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
  'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
  'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
  '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
];
const INCLUSION = [
  { index: 0, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { index: 1, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { index: 0, size: 1, proof: [] },
];
const CONSISTENCY = [
  { from: 1, to: 1, proof: [] },
  { from: 1, to: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { from: 6, to: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { from: 2, to: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { from: 6, to: 7, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];

const hex = (hs: Uint8Array[]) => hs.map(toHex);
const leafHashesOf = (n: number) => LEAVES.slice(0, n).map(leafHash);

test('leaf hashes and roots of sizes 0..8 match the published vectors', () => {
  assert.deepEqual(hex(LEAVES.map(leafHash)), LEAF_HASHES);
  assert.equal(toHex(emptyRoot()), ROOTS[0]);
  for (let n = 0; n <= 8; n++) assert.equal(toHex(rootFromLeafHashes(leafHashesOf(n))), ROOTS[n], `size ${n}`);
  assert.equal(toHex(nodeHash(fromHex(LEAF_HASHES[0]!), fromHex(LEAF_HASHES[1]!))), ROOTS[2]);
});

test('rootsAtSizes (compact range) gives every prefix root of the vectors and of random trees', () => {
  const all = rootsAtSizes(leafHashesOf(8), [...Array(9).keys()]);
  for (let n = 0; n <= 8; n++) assert.equal(toHex(all.get(n)!), ROOTS[n], `size ${n}`);
  const hs = Array.from({ length: 100 }, (_, i) => leafHash(Uint8Array.of(i, i >> 8)));
  const sizes = [0, 1, 2, 3, 31, 32, 33, 63, 64, 65, 99, 100];
  const got = rootsAtSizes(hs, sizes);
  for (const m of sizes) assert.deepEqual(got.get(m), rootFromLeafHashes(hs.slice(0, m)), `size ${m}`);
  assert.throws(() => rootsAtSizes(hs, [101]), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
});

test('inclusion proofs match and verify against the published vectors', () => {
  for (const v of INCLUSION) {
    const hs = leafHashesOf(v.size);
    assert.deepEqual(hex(inclusionProof(hs, v.index)), v.proof, `leaf ${v.index} of ${v.size}`);
    assert.ok(verifyInclusion(hs[v.index]!, v.index, v.size, v.proof.map(fromHex), fromHex(ROOTS[v.size]!)));
  }
});

test('consistency proofs match and verify against the published vectors', () => {
  for (const v of CONSISTENCY) {
    assert.deepEqual(hex(consistencyProof(leafHashesOf(v.to), v.from)), v.proof, `${v.from} → ${v.to}`);
    assert.ok(verifyConsistency(v.from, v.to, fromHex(ROOTS[v.from]!), fromHex(ROOTS[v.to]!), v.proof.map(fromHex)));
  }
});

test('corrupted inclusion proofs are rejected (the published vectors mutated)', () => {
  const some = fromHex('abacaba000000000000000000000000000000000000000000060061e00123456');
  for (const v of INCLUSION.filter((x) => x.size > 1)) {
    const proof = v.proof.map(fromHex);
    const root = fromHex(ROOTS[v.size]!);
    const leaf = leafHash(LEAVES[v.index]!);
    const bad: [string, number, number, Uint8Array[], Uint8Array, Uint8Array][] = [
      ['index - 1', v.index - 1, v.size, proof, root, leaf],
      ['index + 1', v.index + 1, v.size, proof, root, leaf],
      ['index ^ 2', v.index ^ 2, v.size, proof, root, leaf],
      ['size * 2', v.index, v.size * 2, proof, root, leaf],
      ['size / 2', v.index, Math.floor(v.size / 2), proof, root, leaf],
      ['wrong leaf', v.index, v.size, proof, root, new TextEncoder().encode('WrongLeaf')],
      ['empty root', v.index, v.size, proof, emptyRoot(), leaf],
      ['random root', v.index, v.size, proof, some, leaf],
      ['trailing garbage', v.index, v.size, [...proof, new Uint8Array(0)], root, leaf],
      ['trailing root', v.index, v.size, [...proof, root], root, leaf],
      ['preceding root', v.index, v.size, [root, ...proof], root, leaf],
      ['removed component', v.index, v.size, proof.slice(0, -1), root, leaf],
      ['inserted component', v.index, v.size, [proof[0]!, some, ...proof.slice(1)], root, leaf],
    ];
    proof.forEach((_, i) => {
      const p = proof.map((h) => h.slice());
      p[i]![0]! ^= 8;
      bad.push([`bit flipped in proof[${i}]`, v.index, v.size, p, root, leaf]);
    });
    for (const [desc, index, size, p, r, l] of bad) assert.equal(verifyInclusion(l, index, size, p, r), false, `${desc} (leaf ${v.index} of ${v.size})`);
  }
});

test('corrupted consistency proofs and impossible sizes are rejected', () => {
  for (const v of CONSISTENCY.filter((x) => x.proof.length > 0)) {
    const proof = v.proof.map(fromHex);
    const r1 = fromHex(ROOTS[v.from]!);
    const r2 = fromHex(ROOTS[v.to]!);
    const wrong = new TextEncoder().encode('WrongRoot');
    const bad: [string, number, number, Uint8Array, Uint8Array, Uint8Array[]][] = [
      ['from - 1', v.from - 1, v.to, r1, r2, proof],
      ['from + 1', v.from + 1, v.to, r1, r2, proof],
      ['from ^ 2', v.from ^ 2, v.to, r1, r2, proof],
      ['to * 2', v.from, v.to * 2, r1, r2, proof],
      ['to / 2', v.from, Math.floor(v.to / 2), r1, r2, proof],
      ['wrong old root', v.from, v.to, wrong, r2, proof],
      ['wrong new root', v.from, v.to, r1, wrong, proof],
      ['swapped roots', v.from, v.to, r2, r1, proof],
      ['empty proof', v.from, v.to, r1, r2, []],
      ['trailing root', v.from, v.to, r1, r2, [...proof, r2]],
      ['preceding old root', v.from, v.to, r1, r2, [r1, ...proof]],
      ['preceding proof[0]', v.from, v.to, r1, r2, [proof[0]!, ...proof]],
      ['truncated', v.from, v.to, r1, r2, proof.slice(0, -1)],
    ];
    proof.forEach((_, i) => {
      const p = proof.map((h) => h.slice());
      p[i]![0]! ^= 16;
      bad.push([`bit flipped in proof[${i}]`, v.from, v.to, r1, r2, p]);
    });
    for (const [desc, m, n, a, b, p] of bad) assert.equal(verifyConsistency(m, n, a, b, p), false, `${desc} (${v.from} → ${v.to})`);
  }
  const r = fromHex(ROOTS[3]!);
  assert.equal(verifyConsistency(0, 0, r, r, []), true);
  assert.equal(verifyConsistency(0, 5, r, emptyRoot(), []), true, 'the empty tree is a prefix of every tree');
  assert.equal(verifyConsistency(0, 5, r, r, [r]), false, 'a trivial proof must be empty');
  assert.equal(verifyConsistency(3, 3, r, emptyRoot(), []), false, 'same size, different roots');
  assert.equal(verifyConsistency(4, 3, r, r, [r]), false, 'time travel');
});

test('bad sizes throw INVALID_PARAMS from proof generation', () => {
  const hs = leafHashesOf(4);
  for (const i of [-1, 4, 1.5, NaN]) assert.throws(() => inclusionProof(hs, i), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
  for (const m of [-1, 5, 0.5]) assert.throws(() => consistencyProof(hs, m), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
  assert.throws(() => inclusionProof([], 0), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
});

test('hex and base64url codecs round trip and reject other alphabets', () => {
  const h = leafHash(new Uint8Array([1, 2, 3]));
  assert.deepEqual(fromHex(toHex(h)), h);
  assert.deepEqual(fromB64u(toB64u(h)), h);
  assert.throws(() => fromHex('zz'), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
  assert.throws(() => fromB64u('a+b/'), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
});

// ---- An independent implementation: the RFC's recursive definitions transcribed literally,
// over the raw entries (its own SHA-256 calls, array slicing, no shared helpers).
const H = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const largestPow2Below = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function naiveMTH(d: Buffer[]): Buffer {
  if (d.length === 0) return H();
  if (d.length === 1) return H(Buffer.from([0]), d[0]!);
  const k = largestPow2Below(d.length);
  return H(Buffer.from([1]), naiveMTH(d.slice(0, k)), naiveMTH(d.slice(k)));
}
function naivePath(m: number, d: Buffer[]): Buffer[] {
  if (d.length === 1) return [];
  const k = largestPow2Below(d.length);
  return m < k ? [...naivePath(m, d.slice(0, k)), naiveMTH(d.slice(k))] : [...naivePath(m - k, d.slice(k)), naiveMTH(d.slice(0, k))];
}
function naiveSubproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  const n = d.length;
  if (m === n) return b ? [] : [naiveMTH(d)];
  const k = largestPow2Below(n);
  return m <= k ? [...naiveSubproof(m, d.slice(0, k), b), naiveMTH(d.slice(k))] : [...naiveSubproof(m - k, d.slice(k), false), naiveMTH(d.slice(0, k))];
}
const naiveProof = (m: number, d: Buffer[]) => (m === 0 ? [] : naiveSubproof(m, d, true));

test('random trees of sizes 1..64: roots, every inclusion proof and every consistency proof agree with the naive RFC recursion and verify', () => {
  const rng = seedrandom('merkle-naive');
  const entries: Buffer[] = [];
  for (let i = 0; i < 64; i++) {
    const len = Math.floor(rng() * 40);
    entries.push(Buffer.from(Array.from({ length: len }, () => Math.floor(rng() * 256))));
  }
  const hashes = entries.map((e) => leafHash(e));
  const roots = [emptyRoot()];
  for (let n = 1; n <= 64; n++) {
    const d = entries.slice(0, n);
    const hs = hashes.slice(0, n);
    const root = rootFromLeafHashes(hs);
    assert.equal(toHex(root), naiveMTH(d).toString('hex'), `root of ${n}`);
    roots.push(root);
    for (let m = 0; m < n; m++) {
      const proof = inclusionProof(hs, m);
      assert.deepEqual(hex(proof), naivePath(m, d).map((b) => b.toString('hex')), `inclusion ${m} of ${n}`);
      assert.ok(verifyInclusion(hs[m]!, m, n, proof, root), `verify inclusion ${m} of ${n}`);
      if (n > 1) assert.equal(verifyInclusion(hs[(m + 1) % n]!, m, n, proof, root), false, `another leaf at ${m} of ${n}`);
    }
    for (let m = 0; m <= n; m++) {
      const proof = consistencyProof(hs, m);
      assert.deepEqual(hex(proof), naiveProof(m, d).map((b) => b.toString('hex')), `consistency ${m} → ${n}`);
      assert.ok(verifyConsistency(m, n, roots[m]!, root, proof), `verify consistency ${m} → ${n}`);
      if (m > 0 && m < n) {
        assert.equal(verifyConsistency(m, n, roots[m - 1]!, root, proof), false, `wrong old root ${m} → ${n}`);
        const edited = hs.slice();
        edited[m - 1] = leafHash(Buffer.from('edited'));
        assert.equal(verifyConsistency(m, n, roots[m]!, rootFromLeafHashes(edited), consistencyProof(edited, m)), false, `edited prefix ${m} → ${n}`);
      }
    }
  }
});

test('CompactRange: the incrementally kept root equals MTH at every size 0..70', () => {
  const rng = seedrandom('compact-range');
  const leaves = Array.from({ length: 70 }, () => leafHash(Uint8Array.from({ length: 8 }, () => Math.floor(rng() * 256))));
  const range = new CompactRange();
  assert.equal(toHex(range.root()), toHex(emptyRoot()));
  leaves.forEach((h, i) => {
    range.append(h);
    assert.equal(range.size, i + 1);
    assert.equal(toHex(range.root()), toHex(rootFromLeafHashes(leaves.slice(0, i + 1))), `size ${i + 1}`);
  });
});
