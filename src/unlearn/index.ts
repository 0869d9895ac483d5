/** Registers the built-in unlearning methods and re-exports the unlearning API. */
import { badTeacher } from './badTeacher.js';
import { finetune } from './finetune.js';
import { l1Sparse } from './l1Sparse.js';
import { neggradPlus } from './neggradPlus.js';
import { randomLabel } from './randomLabel.js';
import { registerMethod, listMethods } from './registry.js';
import { resetDistil } from './resetDistil.js';
import { retrain } from './retrain.js';
import { salun } from './salun.js';
import { scrub } from './scrub.js';
import { scrubR } from './scrubR.js';
import { ssd } from './ssd.js';

/** The built-in classifier methods, in registration (and listing) order. */
export const BUILTIN_METHODS = [retrain, finetune, neggradPlus, scrub, scrubR, randomLabel, salun, ssd, l1Sparse, badTeacher, resetDistil];

if (!listMethods().some((m) => m.id === 'retrain')) {
  for (const m of BUILTIN_METHODS) registerMethod(m);
}

export { getMethod, listMethods, registerMethod } from './registry.js';
export { selectForgetSet, type ForgetSelector, type ForgetSet } from './forgetSet.js';
export type { UnlearningMethod, UnlearnContext, MethodOutput } from './method.js';
export { unlearn, type UnlearnResult } from './unlearn.js';
