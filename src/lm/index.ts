/** Language-model unlearning: the public API (re-exported from the package root as `lm`). */
export { encode, decode, normalizeText, TOKENIZER_CONFIG, VOCAB_SIZE, BOS } from './tokenizer.js';
export { LM_CONFIGS, lmConfig, initModel, cloneModel, disposeModel, forward, tokenLogProbs, numParams, type LanguageModel, type LmConfig } from './model.js';
export { loadLmCorpus, listSources, presidentSource, type LmCorpus, type LmDocument, type CorpusOptions } from './data.js';
export { trainLm, scoreDocs, makeBatch, nllLoss, parseRecipe, type LmRecipe } from './train.js';
export { generate, continueTokens, type SampleOptions } from './generate.js';
export { saveLm, loadLm, lmHash, type LmManifest } from './io.js';
export { getLmMethod, listLmMethods, registerLmMethod, type LmMethod, type LmUnlearnContext } from './methods/index.js';
export { auditLm, type LmAudit, type AuditOptions } from './audit/index.js';
export { rougeL } from './audit/rouge.js';
export { knowledgeAudit, loadProbes, type KnowledgeProbe } from './audit/knowledge.js';
export { verbMem } from './audit/verbmem.js';
export { lossAttackAuc, privLeak } from './audit/privleak.js';
export { relearnAttack } from './audit/relearn.js';
export { lmTrainWorkflow, lmForget, lmAudit, openLm, defaultProbes } from './workflows.js';
export { lmMarkdown, lmHtml, lmHtmlWithPlots, lmReportSpecs, lmTable, type LmReport } from './report.js';
