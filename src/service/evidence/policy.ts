/**
 * The model owner's deletion policy: a YAML or JSON file (YAML 1.2 is a superset of JSON, so one
 * parser reads both), validated with zod; its SHA-256 over the file's bytes is recorded on every
 * request and in every certificate. See examples/policy.yaml and the README.
 *
 * Per purpose (privacy, copyright, correction, bias, security) the policy states the minimum
 * guarantee, whether proposed terms are accepted without asking the requester, how requests are
 * batched per model, and the answer deadline (default 30 days; GDPR Art. 12(3): one month,
 * extendable by two further months, and the extension must be announced within the first month).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UnlearnError } from '../../errors.js';

/** Purposes of a deletion request. */
export const PURPOSES = ['privacy', 'copyright', 'correction', 'bias', 'security'] as const;
export type Purpose = (typeof PURPOSES)[number];

/**
 * Audits an approximate guarantee can require, each compared with the retrained reference model
 * (trained without the forget set). `margin` is in the metric's own unit, fractions in [0, 1]
 * for rates: 0.02 is 2 points.
 * - `atMost`: value ≤ reference + margin; `within`: |value − reference| ≤ margin.
 */
export const AUDITS = {
  verbMem: { rule: 'atMost', words: 'verbatim reproduction' },
  knowledge: { rule: 'atMost', words: 'knowledge in the source wording' },
  knowledgeParaphrase: { rule: 'atMost', words: 'knowledge under paraphrase' },
  forgetAccuracy: { rule: 'within', words: 'forget-set accuracy' },
  miaAuc: { rule: 'within', words: 'membership-inference AUC' },
  privLeak: { rule: 'within', words: 'PrivLeak' },
} as const satisfies Record<string, { rule: 'atMost' | 'within'; words: string }>;
export type AuditName = keyof typeof AUDITS;
const AUDIT_NAMES = Object.keys(AUDITS) as [AuditName, ...AuditName[]];
/** Audits that speak about membership; without one, a description says membership is not guaranteed. */
const MEMBERSHIP_AUDITS: AuditName[] = ['miaAuc', 'privLeak'];

/**
 * A guarantee, offered by a path or required by a policy.
 * - `exact`: the model is retrained without the data (full retrain, or SISA shards from a checkpoint
 *   before the data: Bourtoule et al., IEEE S&P 2021).
 * - `certified`: (ε, δ)-certified removal (Guo et al., ICML 2020); required: the largest ε and δ accepted.
 * - `approximate`: an approximate method whose audits stay within `audits[name]` of the retrained
 *   reference; required: the audits and the largest margins accepted.
 */
export type Guarantee =
  | { kind: 'exact' }
  | { kind: 'certified'; epsilon: number; delta: number }
  | { kind: 'approximate'; audits: Partial<Record<AuditName, number>> };

const positive = z.number().positive();
const margin = z.number().min(0).max(1);
const guaranteeSchema = z.union([
  z.literal('exact').transform((): Guarantee => ({ kind: 'exact' })),
  z.strictObject({ certified: z.strictObject({ epsilon: positive, delta: z.number().min(0).lt(1).default(0) }) }).transform((g): Guarantee => ({ kind: 'certified', ...g.certified })),
  z
    .strictObject({ approximate: z.strictObject({ audits: z.partialRecord(z.enum(AUDIT_NAMES), margin).refine((a) => Object.keys(a).length > 0, 'name at least one audit') }) })
    .transform((g): Guarantee => ({ kind: 'approximate', audits: g.approximate.audits })),
]);

const purposeSchema = z.strictObject({
  /** Minimum guarantee. */
  guarantee: guaranteeSchema,
  /** Accept the proposed terms without asking the requester when they meet the minimum. */
  autoAccept: z.boolean().default(false),
  /** Run a model's waiting requests every `windowHours`, or as soon as `maxWaiting` wait. */
  batching: z.strictObject({ windowHours: positive.max(24 * 30), maxWaiting: z.int().min(1) }).default({ windowHours: 6, maxWaiting: 50 }),
  /** Answer deadline in days for this purpose (default: the policy's). */
  deadlineDays: z.int().min(1).max(30).optional(),
});

const policySchema = z.strictObject({
  version: z.literal(1).default(1),
  /** Default answer deadline in days (at most 30: one month; extensions are separate). */
  deadlineDays: z.int().min(1).max(30).default(30),
  /** After how many days weight files of superseded versions are deleted; absent: kept. */
  deleteSupersededAfterDays: z.int().min(0).optional(),
  purposes: z.strictObject(Object.fromEntries(PURPOSES.map((p) => [p, purposeSchema])) as Record<Purpose, typeof purposeSchema>),
});

/** A validated policy. */
export type Policy = z.infer<typeof policySchema>;
/** The rule of one purpose, with the deadline resolved. */
export type PurposeRule = Policy['purposes'][Purpose] & { deadlineDays: number };

/**
 * Parse and validate policy text. `name` is used in messages (e.g. the file name).
 * @throws UnlearnError INVALID_PARAMS with a one-line message naming the field, e.g.
 *   `policy.yaml: purposes.privacy.guarantee: …`.
 */
export function parsePolicy(text: string, name = 'policy'): Policy {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: false });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new UnlearnError('INVALID_PARAMS', `${name}: not YAML or JSON: ${msg}`, 'see examples/policy.yaml for the format');
  }
  const r = policySchema.safeParse(raw);
  if (!r.success) {
    const { path, message } = explain(r.error.issues[0]!, []);
    throw new UnlearnError('INVALID_PARAMS', `${name}: ${path.join('.') || '(top level)'}: ${message}`, 'see examples/policy.yaml for the format');
  }
  return r.data;
}

/** The most specific explanation of a zod issue: inside a union, the branch that got furthest. */
function explain(issue: z.core.$ZodIssue, prefix: PropertyKey[]): { path: PropertyKey[]; message: string } {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    const branches = issue.errors.map((b) => b[0]).filter((b): b is z.core.$ZodIssue => b !== undefined && b.path.length > 0);
    branches.sort((a, b) => b.path.length - a.path.length);
    if (branches.length) return explain(branches[0]!, path);
    return { path, message: 'give exact, {certified: {epsilon, delta}} or {approximate: {audits: {name: margin}}}' };
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return { path, message: 'required' };
  return { path, message: issue.message };
}

/**
 * Read a policy file (YAML or JSON).
 * @returns the policy and the SHA-256 (hex) of the file's bytes as read.
 * @throws UnlearnError IO_ERROR when the file cannot be read; INVALID_PARAMS when it is invalid.
 */
export async function loadPolicy(path: string): Promise<{ policy: Policy; sha256: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new UnlearnError('IO_ERROR', `cannot read the policy ${path}: ${(e as Error).message}`, 'give the path of a YAML or JSON policy file (see examples/policy.yaml)');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UnlearnError('INVALID_PARAMS', `${path}: not UTF-8 text`, 'save the policy as UTF-8');
  }
  return { policy: parsePolicy(text, path), sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The rule for `purpose`, with its deadline resolved (purpose's own, else the policy's). */
export function ruleFor(policy: Policy, purpose: Purpose): PurposeRule {
  const rule = policy.purposes[purpose];
  return { ...rule, deadlineDays: rule.deadlineDays ?? policy.deadlineDays };
}

/**
 * Whether an offered guarantee meets a required one (at planning time):
 * - exact is met only by exact;
 * - certified (ε_r, δ_r) by exact, or certified with ε ≤ ε_r and δ ≤ δ_r;
 * - approximate by exact, by certified (a formal bound), or by approximate promising every
 *   required audit with a margin no larger.
 * Whatever the path, an approximate requirement's audits are still measured before publishing.
 */
export function guaranteeMeets(required: Guarantee, offered: Guarantee): boolean {
  if (offered.kind === 'exact') return true;
  if (required.kind === 'exact') return false;
  if (required.kind === 'certified') return offered.kind === 'certified' && offered.epsilon <= required.epsilon && offered.delta <= required.delta;
  if (offered.kind === 'certified') return true;
  return Object.entries(required.audits).every(([name, m]) => {
    const o = offered.audits[name as AuditName];
    return o !== undefined && o <= m!;
  });
}

const fmt = (x: number) => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential() : String(Number(x.toPrecision(3))));

/**
 * In plain words what a guarantee does and does not say, e.g. "approximate: verbatim
 * reproduction at the retrained model's level (+0.02); membership not guaranteed".
 */
export function describeGuarantee(g: Guarantee): string {
  switch (g.kind) {
    case 'exact':
      return "exact: retrained without the data; the model is one that training without it produces, so nothing of it remains beyond what the rest of the training data implies";
    case 'certified':
      return `certified: (ε = ${fmt(g.epsilon)}, δ = ${fmt(g.delta)}) removal; no test tells the model from one retrained without the data by more than a factor e^ε in probability, except with probability δ; not a claim that the weights are identical`;
    case 'approximate': {
      const parts = (Object.entries(g.audits) as [AuditName, number][]).map(([name, m]) => {
        const a = AUDITS[name];
        if (a.rule === 'atMost') return `${a.words} at the retrained model's level${m > 0 ? ` (+${fmt(m)})` : ''}`;
        return `${a.words} within ±${fmt(m)} of the retrained model's`;
      });
      if (!MEMBERSHIP_AUDITS.some((name) => name in g.audits)) parts.push('membership not guaranteed');
      return `approximate: ${parts.join('; ')}; measured by audits, not proved`;
    }
  }
}

/** One measured audit: the unlearned model's value, the retrained reference's, and the sample size. */
export interface AuditFigure {
  value: number;
  reference: number;
  n: number;
}

/**
 * Check measured audits against an approximate requirement's margins (verification before
 * publishing). A required audit that was not measured fails.
 * @returns ok and one line per failed audit.
 */
export function checkAudits(required: Partial<Record<AuditName, number>>, measured: Partial<Record<AuditName, AuditFigure>>): { ok: boolean; failures: string[] } {
  const failures: string[] = [];
  for (const [name, m] of Object.entries(required) as [AuditName, number][]) {
    const f = measured[name];
    if (!f) {
      failures.push(`${name}: not measured`);
      continue;
    }
    const pass = AUDITS[name].rule === 'atMost' ? f.value <= f.reference + m : Math.abs(f.value - f.reference) <= m;
    if (!pass) failures.push(`${name}: ${fmt(f.value)} against the reference's ${fmt(f.reference)} (n = ${f.n}) exceeds the margin ${fmt(m)}`);
  }
  return { ok: failures.length === 0, failures };
}
