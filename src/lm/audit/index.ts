/**
 * The language-model unlearning audit: everything a "forget this source" report states with
 * numbers — verbatim memorisation (VerbMem), knowledge probes in the source's wording and under
 * paraphrase (max over paraphrases), the loss membership attack and PrivLeak, the relearning
 * attack, and utility on the retained sources (perplexity, VerbMem, knowledge).
 */
import { z } from 'zod';
import type { LmCorpus, LmDocument } from '../data.js';
import type { LanguageModel } from '../model.js';
import { scoreDocs } from '../train.js';
import { knowledgeAudit, type KnowledgeProbe, type KnowledgeResult } from './knowledge.js';
import { lossAttackAuc, privLeak } from './privleak.js';
import { relearnAttack, relearnSchema } from './relearn.js';
import { verbMem } from './verbmem.js';

export const auditOptionsSchema = z.object({
  /** Passages of the forget source (and of the retained sources) for VerbMem. */
  verbPassages: z.number().int().min(1).default(64),
  relearn: relearnSchema.partial().default({}),
  /** Skip the relearning attack (e.g. when auditing the original model). */
  skipRelearn: z.boolean().default(false),
});
export type AuditOptions = z.infer<typeof auditOptionsSchema>;

/** Knowledge figures without the per-probe detail. */
export type KnowledgeSummary = Omit<KnowledgeResult, 'perProbe'> & { probes: number };

/** The audit of one model for one forgotten source. Values in [0, 1] unless stated. */
export interface LmAudit {
  source: string;
  forget: {
    verbMem: number;
    knowledge: KnowledgeSummary;
    /** Loss-attack AUC, forget-source training passages vs its held-out passages. */
    mia: { auc: number; members: number; nonMembers: number };
    /** (AUC − AUC_retrained)/AUC_retrained; present when the reference AUC is given. */
    privLeak?: number;
  };
  relearned?: { verbMem: number; knowledge: KnowledgeSummary; steps: number; passages: number };
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

const summary = (k: KnowledgeResult): KnowledgeSummary => ({ original: k.original, maxWording: k.maxWording, paraphraseMean: k.paraphraseMean, chance: k.chance, probes: k.perProbe.length });

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
 * Audit `m` for the forgotten `source` of `corpus`. `probes` may hold probes of any sources: those
 * of `source` measure forgetting, the others utility. `aucRetrained` (the retrained model's
 * loss-attack AUC) turns on PrivLeak.
 */
export function auditLm(m: LanguageModel, corpus: LmCorpus, source: string, probes: KnowledgeProbe[], options: Partial<AuditOptions> = {}, aucRetrained?: number): LmAudit {
  const t0 = performance.now();
  const o = auditOptionsSchema.parse(options);
  const fTrain = corpus.train.filter((d) => d.source === source);
  const fHeld = corpus.heldOut.filter((d) => d.source === source);
  const rTrain = corpus.train.filter((d) => d.source !== source);
  const rHeld = corpus.heldOut.filter((d) => d.source !== source);
  const fProbes = probes.filter((p) => p.source === source);
  const rProbes = probes.filter((p) => p.source !== source && corpus.sources.includes(p.source));
  const verbDocs = spread(fTrain, o.verbPassages);
  const vm = verbMem(m, verbDocs).mean;
  const kn = knowledgeAudit(m, fProbes);
  const aucU = lossAttackAuc(m, fTrain, fHeld);
  const audit: LmAudit = {
    source,
    forget: { verbMem: vm, knowledge: summary(kn), mia: { auc: aucU, members: fTrain.length, nonMembers: fHeld.length }, ...(aucRetrained !== undefined ? { privLeak: privLeak(aucU, aucRetrained) } : {}) },
    retained: {
      perplexity: scoreDocs(m, rHeld.map((d) => d.text)).perplexity,
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
  audit.seconds = (performance.now() - t0) / 1000;
  return audit;
}
