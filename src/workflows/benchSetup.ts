/**
 * What `unlearn bench` and `unlearn tune` share beyond the farm: the model kinds they train, the
 * forget request by subject rank (one sender of the emails, named without naming them), and the
 * method params chosen by earlier tune runs (`--tuned DIR`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSplit } from '../data/dataset.js';
import type { ForgetSelector } from '../data/forgetSet.js';
import { UnlearnError } from '../errors.js';
import type { ModelSpec } from '../models/spec.js';

/** Model kinds the benchmark trains from scratch. */
export type BenchModelKind = 'logreg' | 'mlp' | 'cnn';

/**
 * A benchmark forget request: a {@link ForgetSelector}, or `subjectRank` r ≥ 1 = every training
 * example of the r-th most prolific subject (most training examples; ties broken by subject id),
 * e.g. the emails' biggest sender — a subject forget named without writing personal data.
 */
export type BenchForget = ForgetSelector & { subjectRank?: number };

/**
 * The subject of rank `rank` (1 = most training examples; ties: the smaller id first).
 * @throws UnlearnError INVALID_PARAMS when rank is not an integer in [1, number of subjects].
 */
export function subjectByRank(split: DataSplit, rank: number): string {
  const count = new Map<string, number>();
  for (const s of split.train.subjects) count.set(s, (count.get(s) ?? 0) + 1);
  const order = [...count.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  if (!Number.isInteger(rank) || rank < 1 || rank > order.length) {
    throw new UnlearnError('INVALID_PARAMS', `subject rank ${rank} not in [1, ${order.length}]`, 'e.g. --forget top-subject:1 (the subject with the most training examples)');
  }
  return order[rank - 1][0];
}

/** `forget` as a plain selector: `subjectRank` replaced by that subject (added to `subjects`). */
export function resolveBenchForget(split: DataSplit, forget: BenchForget): ForgetSelector {
  const { subjectRank, ...rest } = forget;
  if (subjectRank === undefined) return rest;
  return { ...rest, subjects: [...(rest.subjects ?? []), subjectByRank(split, subjectRank)] };
}

/**
 * Check that a CNN gets image-shaped data.
 * @throws UnlearnError INVALID_ARGS when `kind` is `cnn` and the data is not [h, w, c].
 */
export function checkModelFitsData(kind: BenchModelKind, split: DataSplit): void {
  if (kind === 'cnn' && split.train.shape.length !== 3) {
    throw new UnlearnError('INVALID_ARGS', `--model cnn needs image-shaped data [h, w, c], ${split.name} gives [${split.train.shape}]`, 'use an image dataset (digits, fashion-mnist) with --data-option image=true');
  }
}

/** What a tune manifest must match to be used for a benchmark. */
export interface TunedFor {
  /** Data fingerprint of the benchmark's split. */
  fingerprint: string;
  spec: ModelSpec;
}

/** Params of one method taken from a tune manifest. */
export interface TunedParams {
  params: Record<string, unknown>;
  /** The manifest's path and the trial chosen. */
  from: string;
  trial: number;
}

/**
 * Read every `unlearn-tune/1` manifest (`tune.json`, as `unlearn tune` writes it) under `dir`
 * (the directory itself and its subdirectories, one level) and return the chosen params by
 * method. A manifest whose data fingerprint or model spec differ from `want` is refused, as is
 * one that chose nothing (no trial within its budget: that method then keeps its defaults and
 * the result says so via {@link TunedSet.untuned}).
 * @throws UnlearnError INVALID_ARGS when `dir` does not exist or holds no tune manifest, when a
 *   manifest is for other data or another model, or when two manifests tune the same method.
 */
export function readTunedParams(dir: string, want: TunedFor): TunedSet {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UnlearnError('INVALID_ARGS', `--tuned ${dir}: not a directory`, 'pass the directory holding `unlearn tune` outputs (tune.json)');
  const files: string[] = [];
  if (existsSync(join(dir, 'tune.json'))) files.push(join(dir, 'tune.json'));
  for (const d of readdirSync(dir).sort()) {
    const f = join(dir, d, 'tune.json');
    if (statSync(join(dir, d)).isDirectory() && existsSync(f)) files.push(f);
  }
  if (files.length === 0) throw new UnlearnError('INVALID_ARGS', `--tuned ${dir}: no tune.json in it or its subdirectories`, 'run `unlearn tune --out DIR/<method>` first');
  const out: TunedSet = { params: {}, untuned: [] };
  for (const f of files) {
    let m: { format?: string; method?: string; dataset?: { fingerprint?: string }; spec?: unknown; chosen?: { trial: number; params: Record<string, unknown> } | null };
    try {
      m = JSON.parse(readFileSync(f, 'utf8'));
    } catch (e) {
      throw new UnlearnError('INVALID_ARGS', `--tuned: ${f} is not valid JSON (${(e as Error).message})`, 'rerun `unlearn tune`');
    }
    if (m.format !== 'unlearn-tune/1' || typeof m.method !== 'string') throw new UnlearnError('INVALID_ARGS', `--tuned: ${f} is not an unlearn-tune/1 manifest`, 'pass `unlearn tune` outputs');
    if (m.dataset?.fingerprint !== want.fingerprint) throw new UnlearnError('INVALID_ARGS', `--tuned: ${f} tuned ${m.method} on other data (fingerprint ${String(m.dataset?.fingerprint).slice(0, 12)}, this benchmark's is ${want.fingerprint.slice(0, 12)})`, 'tune with the same --dataset and --data-option values');
    if (JSON.stringify(m.spec) !== JSON.stringify(want.spec)) throw new UnlearnError('INVALID_ARGS', `--tuned: ${f} tuned ${m.method} for another model (${JSON.stringify(m.spec)})`, 'tune with the same --model, --hidden, --filters, --dense');
    if (m.method in out.params || out.untuned.some((u) => u.method === m.method)) throw new UnlearnError('INVALID_ARGS', `--tuned: two manifests tune ${m.method}`, 'keep one tune output per method');
    if (m.chosen) out.params[m.method] = { params: m.chosen.params, from: f, trial: m.chosen.trial };
    else out.untuned.push({ method: m.method, from: f });
  }
  return out;
}

/** Tuned params by method, and the methods whose search chose nothing (they keep their defaults). */
export interface TunedSet {
  params: Record<string, TunedParams>;
  untuned: { method: string; from: string }[];
}

/** A model spec in one phrase: `MLP hidden [128]`, `CNN filters [16,32], dense 64`, `logistic regression`. */
export function specLine(spec: ModelSpec): string {
  if (spec.kind === 'mlp') return `MLP hidden ${JSON.stringify(spec.hidden)}`;
  if (spec.kind === 'cnn') return `CNN filters ${JSON.stringify(spec.filters)}, kernel ${spec.kernelSize}, dense ${spec.dense}, input [${spec.inputShape}]`;
  return 'logistic regression';
}

