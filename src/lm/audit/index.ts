/**
 * The language-model unlearning audit: everything a "forget this source" report states with
 * numbers — verbatim memorisation (VerbMem), knowledge probes in the source's wording and under
 * paraphrase (max over paraphrases), membership attacks (loss, zlib, Min-K%, Min-K%++) and their
 * PrivLeak, the relearning attack, the quantisation attack (int8 and 4-bit round-trips of the
 * weights), and utility on the retained sources (perplexity, VerbMem, knowledge). A forget request
 * may name several sources (MUSE's scale criterion): the forget figures are over their union.
 */
import { z } from 'zod';
import type { LmCorpus, LmDocument } from '../data.js';
import { disposeModel, type LanguageModel } from '../model.js';
import { scoreDocs } from '../train.js';
import { knowledgeAudit, type KnowledgeProbe, type KnowledgeResult } from './knowledge.js';
import { MIA_STATS, membershipAucs, type MiaStat } from './membership.js';
import { privLeak } from './privleak.js';
import { quantizeModel } from './quantize.js';
import { relearnAttack, relearnSchema } from './relearn.js';
import { verbMem } from './verbmem.js';

export const auditOptionsSchema = z.object({
  /** Passages of the forget source (and of the retained sources) for VerbMem. */
  verbPassages: z.number().int().min(1).default(64),
  relearn: relearnSchema.partial().default({}),
  /** Skip the relearning attack (e.g. when auditing the original model). */
  skipRelearn: z.boolean().default(false),
  /** Widths of the quantisation attack (see ./quantize.ts); [] skips it. */
  quantBits: z.array(z.number().int().min(2).max(16)).default([8, 4]),
});
export type AuditOptions = z.infer<typeof auditOptionsSchema>;

/** Knowledge figures without the per-probe detail. */
export type KnowledgeSummary = Omit<KnowledgeResult, 'perProbe'> & { probes: number };

/** The forgetting audits re-run on a dequantised copy of the model. */
export interface QuantizedAudit {
  bits: number;
  verbMem: number;
  knowledge: KnowledgeSummary;
  /** Retained perplexity of the quantised copy (utility under quantisation). */
  retainedPerplexity: number;
  /** Max |W − Ŵ| / (s/2) over all weights: ≤ 1 by the scheme. */
  maxErrorOverBound: number;
}

/** The audit of one model for one forget request (one source or several). Values in [0, 1] unless stated. */
export interface LmAudit {
  /** The forgotten sources joined by " + " (the request's label). */
  source: string;
  sources: string[];
  forget: {
    verbMem: number;
    knowledge: KnowledgeSummary;
    /** Membership AUCs, forget-source training passages vs their held-out passages: `auc` of the loss attack, `byStat` of every statistic. */
    mia: { auc: number; members: number; nonMembers: number; byStat: Record<MiaStat, number> };
    /** (AUC − AUC_retrained)/AUC_retrained of the loss attack; present when the reference AUCs are given. */
    privLeak?: number;
    /** PrivLeak of every statistic. */
    privLeakByStat?: Record<MiaStat, number>;
  };
  relearned?: { verbMem: number; knowledge: KnowledgeSummary; steps: number; passages: number };
  /** One entry per quantisation width (options.quantBits). */
  quantized?: QuantizedAudit[];
  retained: {
    /** exp(mean NLL per byte) on the retained sources' held-out passages. */
    perplexity: number;
    /** Same on the forget source's held-out passages (generalisation to the source's style). */
    forgetHeldOutPerplexity: number;
    verbMem: number;
    knowledge: KnowledgeSummary;
  };
  seconds: number;
}

/** Knowledge figures of a result; NaN (n/a in reports) when no probe applies, e.g. every probed source was forgotten. */
const summary = (k: KnowledgeResult): KnowledgeSummary =>
  k.perProbe.length
    ? { original: k.original, maxWording: k.maxWording, paraphraseMean: k.paraphraseMean, chance: k.chance, probes: k.perProbe.length }
    : { original: NaN, maxWording: NaN, paraphraseMean: NaN, chance: NaN, probes: 0 };

/** Interleave documents of several sources (round-robin by source, each in index order), first n. */
export function spread(docs: LmDocument[], n: number): LmDocument[] {
  const by = new Map<string, LmDocument[]>();
  for (const d of [...docs].sort((a, b) => a.index - b.index)) by.set(d.source, [...(by.get(d.source) ?? []), d]);
  const lists = [...by.values()];
  const out: LmDocument[] = [];
  for (let i = 0; out.length < n && lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length && out.length < n) out.push(l[i]);
  return out;
}

/**
 * The audit with PrivLeak filled in against the retrained model's membership AUCs (`reference`,
 * e.g. the retrained model's `forget.mia.byStat`), for the loss attack and every statistic.
 */
export function withPrivLeak(a: LmAudit, reference: Record<MiaStat, number>): LmAudit {
  const byStat = Object.fromEntries(MIA_STATS.map((s) => [s, privLeak(a.forget.mia.byStat[s], reference[s])])) as Record<MiaStat, number>;
  return { ...a, forget: { ...a.forget, privLeak: byStat.loss, privLeakByStat: byStat } };
}

/** Source ids of a request: one id or several. */
const asList = (s: string | string[]) => (Array.isArray(s) ? [...s] : [s]);

/**
 * Audit `m` for the forgotten `source` (or sources) of `corpus`. `probes` may hold probes of any
 * sources: those of the forgotten sources measure forgetting, the others utility.
 * `reference` (the retrained model's membership AUCs by statistic) turns on PrivLeak.
 */
export function auditLm(m: LanguageModel, corpus: LmCorpus, source: string | string[], probes: KnowledgeProbe[], options: Partial<AuditOptions> = {}, reference?: Record<MiaStat, number>): LmAudit {
  const t0 = performance.now();
  const o = auditOptionsSchema.parse(options);
  const sources = asList(source);
  const forgotten = (s: string) => sources.includes(s);
  const fTrain = corpus.train.filter((d) => forgotten(d.source));
  const fHeld = corpus.heldOut.filter((d) => forgotten(d.source));
  const rTrain = corpus.train.filter((d) => !forgotten(d.source));
  const rHeld = corpus.heldOut.filter((d) => !forgotten(d.source));
  const fProbes = probes.filter((p) => forgotten(p.source));
  const rProbes = probes.filter((p) => !forgotten(p.source) && corpus.sources.includes(p.source));
  const verbDocs = spread(fTrain, o.verbPassages);
  const vm = verbMem(m, verbDocs).mean;
  const kn = knowledgeAudit(m, fProbes);
  const byStat = membershipAucs(m, fTrain, fHeld);
  const retainedPpl = (x: LanguageModel) => scoreDocs(x, rHeld.map((d) => d.text)).perplexity;
  let audit: LmAudit = {
    source: sources.join(' + '),
    sources,
    forget: { verbMem: vm, knowledge: summary(kn), mia: { auc: byStat.loss, members: fTrain.length, nonMembers: fHeld.length, byStat } },
    retained: {
      perplexity: retainedPpl(m),
      forgetHeldOutPerplexity: scoreDocs(m, fHeld.map((d) => d.text)).perplexity,
      verbMem: verbMem(m, spread(rTrain, o.verbPassages)).mean,
      knowledge: summary(knowledgeAudit(m, rProbes)),
    },
    seconds: 0,
  };
  if (!o.skipRelearn) {
    const r = relearnAttack(m, fHeld, o.relearn, (rm) => ({ verbMem: verbMem(rm, verbDocs).mean, knowledge: summary(knowledgeAudit(rm, fProbes)) }));
    audit.relearned = { verbMem: r.verbMem, knowledge: r.knowledge, steps: r.relearnSteps, passages: r.relearnPassages };
  }
  if (o.quantBits.length) {
    audit.quantized = o.quantBits.map((bits) => {
      const q = quantizeModel(m, bits);
      try {
        return { bits, verbMem: verbMem(q.model, verbDocs).mean, knowledge: summary(knowledgeAudit(q.model, fProbes)), retainedPerplexity: retainedPpl(q.model), maxErrorOverBound: q.report.maxErrorOverBound };
      } finally {
        disposeModel(q.model);
      }
    });
  }
  if (reference) audit = withPrivLeak(audit, reference);
  audit.seconds = (performance.now() - t0) / 1000;
  return audit;
}
