/**
 * Merkle hash trees as Certificate Transparency defines them (RFC 9162 §2.1, unchanged from
 * RFC 6962 §2.1): the hashing, the tree head over n leaves, inclusion proofs (audit paths) and
 * consistency proofs between two sizes of an append-only tree, and their verification.
 *
 * Every hash is SHA-256, a 32-byte `Uint8Array`.
 * - leaf hash  = SHA-256(0x00 ‖ entry)
 * - node hash  = SHA-256(0x01 ‖ left ‖ right)
 * - MTH({})    = SHA-256("") (the empty tree)
 * - MTH(D[n])  = node hash of MTH(D[0:k]) and MTH(D[k:n]), k the largest power of two < n.
 *
 * Proof generation works on the tree's levels built bottom-up (the last node of an odd level
 * moves up unchanged, which gives exactly the RFC's split at the largest power of two); proof
 * verification is the RFC's iterative algorithm (§2.1.3.2, §2.1.4.2), which never sees the tree.
 * The tests check both against published vectors and a literal transcription of the RFC's
 * recursive definitions.
 */
import { createHash } from 'node:crypto';
import { UnlearnError } from '../../errors.js';

/** Length in bytes of every hash in the tree (SHA-256). */
export const HASH_BYTES = 32;

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 ‖ entry). `entry` is the raw leaf bytes (any length). */
export function leafHash(entry: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, entry);
}

/** RFC 9162 §2.1.1 interior node hash: SHA-256(0x01 ‖ left ‖ right), both 32-byte hashes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/** The root hash of the empty tree, SHA-256 of the empty string. */
export function emptyRoot(): Uint8Array {
  return sha256();
}

/** Byte-wise equality of two hashes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkSize(name: string, value: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new UnlearnError('INVALID_PARAMS', `${name} ${value} is not an integer in 0..${max}`, `give ${name} between 0 and ${max}`);
  }
}

/**
 * The levels of the tree over `leafHashes`: levels[0] are the leaves, levels[l][j] is the
 * root of the subtree over leaves [j·2^l, min(n, (j+1)·2^l)), the last level holds the root.
 */
function levels(leafHashes: Uint8Array[]): Uint8Array[][] {
  const out: Uint8Array[][] = [leafHashes];
  let cur = leafHashes;
  while (cur.length > 1) {
    const next: Uint8Array[] = [];
    for (let j = 0; j + 1 < cur.length; j += 2) next.push(nodeHash(cur[j]!, cur[j + 1]!));
    if (cur.length % 2 === 1) next.push(cur[cur.length - 1]!);
    out.push(next);
    cur = next;
  }
  return out;
}

/**
 * MTH, the Merkle tree hash (RFC 9162 §2.1.1) over the leaf hashes in order.
 * @param leafHashes 32-byte leaf hashes ({@link leafHash} of each entry).
 * @returns the 32-byte root; SHA-256("") for no leaves.
 */
export function rootFromLeafHashes(leafHashes: Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return emptyRoot();
  const lv = levels(leafHashes);
  return lv[lv.length - 1]![0]!;
}

/**
 * A compact range of a growing tree: the roots of the perfect subtrees covering leaves [0, size),
 * one per set bit of size, largest first. Appending a leaf merges equal-sized subtrees (amortised
 * O(1) hashes); the MTH (RFC 9162 §2.1.1) of the leaves so far is the range folded from the right
 * (O(log n) hashes). State is O(log n), so a log's root can be kept up to date without re-reading
 * its leaves.
 */
export class CompactRange {
  private readonly nodes: { hash: Uint8Array; size: number }[] = [];
  /** Leaves appended so far. */
  size = 0;

  /** Append the next leaf hash (32 bytes). */
  append(leafHash: Uint8Array): void {
    let node = { hash: leafHash, size: 1 };
    while (this.nodes.length && this.nodes[this.nodes.length - 1]!.size === node.size) {
      const left = this.nodes.pop()!;
      node = { hash: nodeHash(left.hash, node.hash), size: 2 * node.size };
    }
    this.nodes.push(node);
    this.size++;
  }

  /** MTH of the leaves appended so far; SHA-256("") for none. */
  root(): Uint8Array {
    if (!this.nodes.length) return emptyRoot();
    let r = this.nodes[this.nodes.length - 1]!.hash;
    for (let k = this.nodes.length - 2; k >= 0; k--) r = nodeHash(this.nodes[k]!.hash, r);
    return r;
  }
}

/**
 * The roots of the trees over the first m leaves, for every m in `sizes`, in one pass: a compact
 * range (the roots of the perfect subtrees of the prefix, one per set bit of m) is extended leaf
 * by leaf, and a prefix's MTH is that range folded from the right. O(n + |sizes|·log n) hashes.
 * @throws UnlearnError INVALID_PARAMS for a size outside 0..n.
 */
export function rootsAtSizes(leafHashes: Uint8Array[], sizes: number[]): Map<number, Uint8Array> {
  for (const m of sizes) checkSize('tree size', m, leafHashes.length);
  const want = new Set(sizes);
  const out = new Map<number, Uint8Array>();
  if (want.has(0)) out.set(0, emptyRoot());
  const range = new CompactRange();
  leafHashes.forEach((h, i) => {
    range.append(h);
    if (want.has(i + 1)) out.set(i + 1, range.root());
  });
  return out;
}

/**
 * The inclusion proof (audit path, RFC 9162 §2.1.3.1 PATH(m, D[n])) for leaf `index` in the
 * tree over all of `leafHashes`: the sibling hashes from the leaf up to the root.
 * @throws UnlearnError INVALID_PARAMS when index is not in 0..n-1.
 */
export function inclusionProof(leafHashes: Uint8Array[], index: number): Uint8Array[] {
  checkSize('leaf index', index, leafHashes.length - 1);
  const proof: Uint8Array[] = [];
  let j = index;
  for (const level of levels(leafHashes)) {
    const sibling = j ^ 1;
    if (sibling < level.length) proof.push(level[sibling]!);
    j >>= 1;
  }
  return proof;
}

/**
 * The consistency proof (RFC 9162 §2.1.4.1 PROOF(m, D[n])) that the tree over the first
 * `oldSize` leaves is a prefix of the tree over all of `leafHashes`. Empty when oldSize is 0 or n.
 * @throws UnlearnError INVALID_PARAMS when oldSize is not in 0..n.
 */
export function consistencyProof(leafHashes: Uint8Array[], oldSize: number): Uint8Array[] {
  const n = leafHashes.length;
  checkSize('old tree size', oldSize, n);
  if (oldSize === 0 || oldSize === n) return [];
  const lv = levels(leafHashes);
  // The root of the subtree over leaves [start, end) of the full tree; every subtree the RFC's
  // recursion visits is a node of the full tree, aligned to the next power of two ≥ its size.
  const node = (start: number, end: number): Uint8Array => {
    let l = 0;
    while (1 << l < end - start) l++;
    return lv[l]![start >> l]!;
  };
  const proof: Uint8Array[] = [];
  // SUBPROOF(m, D[start:end], b), iterated from the root down; the path is collected leaf-first.
  const sub = (m: number, start: number, end: number, b: boolean): void => {
    const size = end - start;
    if (m === size) {
      if (!b) proof.push(node(start, end));
      return;
    }
    let k = 1;
    while (k * 2 < size) k *= 2;
    if (m <= k) {
      sub(m, start, start + k, b);
      proof.push(node(start + k, end));
    } else {
      sub(m - k, start + k, end, false);
      proof.push(node(start, start + k));
    }
  };
  sub(oldSize, 0, n, true);
  return proof;
}

const isHash = (h: Uint8Array) => h instanceof Uint8Array && h.length === HASH_BYTES;

/**
 * Verify an inclusion proof (RFC 9162 §2.1.3.2): that `leafHash` is leaf `index` of the tree of
 * `treeSize` leaves whose root is `root`. Never throws: malformed input (wrong hash lengths,
 * index ≥ treeSize, a proof too long or too short) returns false.
 */
export function verifyInclusion(leafHash: Uint8Array, index: number, treeSize: number, proof: Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return false;
  if (!isHash(leafHash) || !isHash(root) || !proof.every(isHash)) return false;
  // Sizes may exceed 2^31: shift with division, not `>>`.
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}

/**
 * Verify a consistency proof (RFC 9162 §2.1.4.2): that the tree of `oldSize` leaves with root
 * `oldRoot` is a prefix of the tree of `newSize` leaves with root `newRoot`.
 * Trivial cases: oldSize = 0 is consistent with anything (the proof must be empty); oldSize =
 * newSize needs equal roots and an empty proof; oldSize > newSize is never consistent.
 * Never throws; malformed input returns false.
 */
export function verifyConsistency(oldSize: number, newSize: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: Uint8Array[]): boolean {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize) return false;
  if (!proof.every(isHash)) return false;
  if (oldSize === 0) return proof.length === 0;
  if (!isHash(oldRoot) || !isHash(newRoot)) return false;
  if (oldSize === newSize) return proof.length === 0 && equalBytes(oldRoot, newRoot);
  if (proof.length === 0) return false;
  // When the old tree is a complete subtree, its root is the proof's implicit first element.
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : proof;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(fr, oldRoot) && equalBytes(sr, newRoot);
}

function isPowerOfTwo(n: number): boolean {
  while (n > 1) {
    if (n % 2 === 1) return false;
    n /= 2;
  }
  return n === 1;
}

/** Hash bytes as lowercase hex (the form tree heads and log rows use). */
export const toHex = (h: Uint8Array): string => Buffer.from(h).toString('hex');
/** Hash bytes as unpadded base64url (RFC 4648 §5; the form certificates use). */
export const toB64u = (h: Uint8Array): string => Buffer.from(h).toString('base64url');
/** Lowercase hex to bytes. @throws UnlearnError INVALID_PARAMS for a string that is not hex. */
export function fromHex(s: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(s)) throw new UnlearnError('INVALID_PARAMS', `"${s.slice(0, 20)}" is not a hex string`, 'give the hash as lowercase hex');
  return new Uint8Array(Buffer.from(s, 'hex'));
}
/** Unpadded base64url to bytes. @throws UnlearnError INVALID_PARAMS for a string outside the base64url alphabet. */
export function fromB64u(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new UnlearnError('INVALID_PARAMS', `"${s.slice(0, 20)}" is not base64url`, 'give the hash as unpadded base64url');
  return new Uint8Array(Buffer.from(s, 'base64url'));
}
