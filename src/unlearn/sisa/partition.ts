/**
 * SISA partitioning (Bourtoule et al., "Machine Unlearning", IEEE S&P 2021, §IV): the training
 * examples are split into S disjoint shards, and each shard into R disjoint slices.
 *
 * Unit of assignment: by default a *subject* (every example of one person/source goes to the same
 * shard **and** the same slice), so deleting a subject retrains one shard, from the checkpoint
 * before that one slice. Datasets without subjects use the example id as subject, which gives
 * the paper's uniform assignment of points.
 *
 * Algorithm (deterministic for a seed): the groups (subjects) are shuffled with the seeded Alea
 * stream `deriveSeed(seed, 'sisa/partition')`, then stably sorted by size, largest first, and each
 * group is put into the shard holding the fewest examples so far (ties: the lowest shard index) —
 * the longest-processing-time rule, which keeps shards balanced even when one subject is large.
 * Within a shard, the groups are dealt to slices by the same rule. Within a slice, ids are kept in
 * the order of the training set.
 */
import type { Dataset } from '../../data/dataset.js';
import { Rng, deriveSeed } from '../../engine/rng.js';
import { UnlearnError } from '../../errors.js';

/** How examples are grouped before they are assigned: whole subjects, or single examples. */
export type PartitionUnit = 'subject' | 'example';

/**
 * A SISA assignment: `shards[k].slices[r]` lists the example ids of slice r (0-based) of shard k,
 * in training-set order. This is the SISA lineage: it maps every id to its shard and slice.
 */
export interface SisaAssignment {
  shards: { slices: string[][] }[];
}

/** Where one example id lives: 0-based shard and slice. */
export interface SisaLocation {
  shard: number;
  slice: number;
}

/**
 * Assign the examples `indices` of `train` (indices into the Dataset) to `shards` × `slices`.
 * @throws UnlearnError INVALID_PARAMS when shards or slices is not an integer ≥ 1, when there are
 *   fewer groups (subjects or examples) than shards (a shard would be empty), or when some shard
 *   holds fewer groups than `slices` (a slice would be empty); the message names the largest
 *   value the data allows.
 */
export function partitionSisa(
  train: Dataset,
  indices: ArrayLike<number>,
  shards: number,
  slices: number,
  seed: number,
  unit: PartitionUnit = 'subject',
): SisaAssignment {
  if (!Number.isInteger(shards) || shards < 1) throw new UnlearnError('INVALID_PARAMS', `number of shards must be an integer ≥ 1, got ${shards}`, 'pass --shards 1 or more');
  if (!Number.isInteger(slices) || slices < 1) throw new UnlearnError('INVALID_PARAMS', `number of slices must be an integer ≥ 1, got ${slices}`, 'pass --slices 1 or more');
  const groups = new Map<string, number[]>();
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j];
    const key = unit === 'subject' ? train.subjects[i] : train.ids[i];
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  }
  const what = unit === 'subject' ? 'subjects' : 'examples';
  if (groups.size < shards) {
    throw new UnlearnError('INVALID_PARAMS', `${shards} shards but the training set has only ${groups.size} ${what}: a shard would be empty`, `use --shards ${groups.size} or fewer`);
  }
  const order = new Rng(deriveSeed(seed, 'sisa/partition')).shuffle([...groups.values()]);
  order.sort((a, b) => b.length - a.length); // stable: equal sizes keep the shuffled order
  const shardGroups = dealLpt(order, shards);
  const minGroups = Math.min(...shardGroups.map((g) => g.length));
  if (minGroups < slices) {
    throw new UnlearnError('INVALID_PARAMS', `${slices} slices but a shard holds only ${minGroups} ${what}: a slice would be empty`, `use --slices ${minGroups} or fewer, or fewer shards`);
  }
  return {
    shards: shardGroups.map((gs) => ({
      slices: dealLpt(gs, slices).map((sliceGroups) => sliceGroups.flat().sort((a, b) => a - b).map((i) => train.ids[i])),
    })),
  };
}

/** Longest-processing-time dealing: each group (in the given order) to the bin with the fewest items so far. */
function dealLpt(groups: number[][], bins: number): number[][][] {
  const out: number[][][] = Array.from({ length: bins }, () => []);
  const load = new Array<number>(bins).fill(0);
  for (const g of groups) {
    let best = 0;
    for (let b = 1; b < bins; b++) if (load[b] < load[best]) best = b;
    out[best].push(g);
    load[best] += g.length;
  }
  return out;
}

/** id → (shard, slice) for every id of an assignment. */
export function locate(a: SisaAssignment): Map<string, SisaLocation> {
  const m = new Map<string, SisaLocation>();
  a.shards.forEach((s, shard) => s.slices.forEach((ids, slice) => ids.forEach((id) => m.set(id, { shard, slice }))));
  return m;
}

/** The assignment without `removed` ids (shards and slices keep their places, possibly emptied). */
export function withoutIds(a: SisaAssignment, removed: Iterable<string>): SisaAssignment {
  const gone = new Set(removed);
  return { shards: a.shards.map((s) => ({ slices: s.slices.map((ids) => ids.filter((id) => !gone.has(id))) })) };
}

/** Number of examples in a shard. */
export function shardSize(s: { slices: string[][] }): number {
  return s.slices.reduce((n, ids) => n + ids.length, 0);
}

/**
 * Epochs of each slice stage: stage r (1-based) trains on slices 1..r for
 * e_r = max(1, round(2e / (R + 1))) epochs, so a shard's total work Σ_r (r·n/R)·e_r ≈ n·e (the
 * same number of example visits as e epochs on the whole shard) and the total epoch count is
 * ≈ 2R/(R+1)·e (Bourtoule et al. 2021, §V-B). R = 1 gives e.
 */
export function sliceEpochs(epochs: number, slices: number): number {
  return Math.max(1, Math.round((2 * epochs) / (slices + 1)));
}
