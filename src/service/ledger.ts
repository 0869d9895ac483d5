/**
 * The service's use of the evidence layer: every state change is a leaf of the transparency log
 * (RFC 9162 hashing, src/service/evidence/merkle.ts) stored in the service's database, tree heads
 * are signed with the data root's key ring, and certificates carry an inclusion proof of the
 * leaf that records them.
 */
import { CompactSign, type JSONWebKeySet } from 'jose';
import type { Executor, Store } from '../store/store.js';
import { consistencyProof, fromHex, inclusionProof, leafHash, rootFromLeafHashes, toHex } from './evidence/merkle.js';
import type { KeyRing } from './evidence/keys.js';

/** A signed tree head: size, root (hex), time, and the JWS over them. */
export interface TreeHead {
  size: number;
  rootHash: string;
  timestamp: number;
  signature: string;
}

/** An inclusion proof of leaf `index` in the tree of `treeSize` leaves (hashes hex). */
export interface InclusionProof {
  index: number;
  treeSize: number;
  leafHash: string;
  rootHash: string;
  path: string[];
}

const enc = new TextEncoder();

/** The log entries and signatures of one service. */
export class Ledger {
  constructor(
    readonly store: Store,
    readonly keys: KeyRing,
  ) {}

  /** Append one event (a JSON object without personal data) in the caller's transaction; returns its index. */
  async append(ex: Executor, event: Record<string, unknown>, now = Date.now()): Promise<number> {
    const text = JSON.stringify(event);
    return this.store.appendLogEntry(text, toHex(leafHash(enc.encode(text))), now, ex);
  }

  private async leaves(size: number, ex: Executor): Promise<Uint8Array[]> {
    return (await this.store.logLeafHashes(0, size, ex)).map(fromHex);
  }

  /** Sign a JSON payload with the current key (EdDSA, kid in the header). */
  async sign(payload: unknown, typ: string): Promise<string> {
    const k = this.keys.current();
    return new CompactSign(enc.encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'EdDSA', kid: k.kid, typ }).sign(k.privateKey);
  }

  /** The signed head of the tree as it is now (stored, so a head is signed once per size). */
  async treeHead(ex: Executor = this.store.db): Promise<TreeHead> {
    const size = await this.store.logSize(ex);
    const stored = await this.store.treeHead(size, ex);
    if (stored) return { size, rootHash: stored.root_hash, timestamp: stored.created_at, signature: stored.signature };
    const rootHash = toHex(rootFromLeafHashes(await this.leaves(size, ex)));
    const timestamp = Date.now();
    const signature = await this.sign({ size, rootHash, timestamp }, 'unlearn-tree-head+jws');
    await this.store.insertTreeHead({ size, root_hash: rootHash, signature, created_at: timestamp }, ex);
    return { size, rootHash, timestamp, signature };
  }

  /** Inclusion proof of entry `index` in the tree of `treeSize` leaves (default: the current size). */
  async inclusion(index: number, treeSize?: number, ex: Executor = this.store.db): Promise<InclusionProof> {
    const size = treeSize ?? (await this.store.logSize(ex));
    const leaves = await this.leaves(size, ex);
    return { index, treeSize: size, leafHash: toHex(leaves[index]), rootHash: toHex(rootFromLeafHashes(leaves)), path: inclusionProof(leaves, index).map(toHex) };
  }

  /** Consistency proof between the trees of `from` and `to` leaves. */
  async consistency(from: number, to: number): Promise<{ from: number; to: number; fromRoot: string; toRoot: string; path: string[] }> {
    const leaves = await this.leaves(to, this.store.db);
    return { from, to, fromRoot: toHex(rootFromLeafHashes(leaves.slice(0, from))), toRoot: toHex(rootFromLeafHashes(leaves)), path: consistencyProof(leaves, from).map(toHex) };
  }

  jwks(): JSONWebKeySet {
    return this.keys.jwks();
  }
}
