/** Registers the built-in unlearning methods and re-exports the unlearning API. */
import { finetune } from './finetune.js';
import { neggradPlus } from './neggradPlus.js';
import { registerMethod, listMethods } from './registry.js';
import { retrain } from './retrain.js';
import { scrub } from './scrub.js';

if (!listMethods().some((m) => m.id === 'retrain')) {
  for (const m of [retrain, finetune, neggradPlus, scrub]) registerMethod(m);
}

export { getMethod, listMethods, registerMethod } from './registry.js';
export { selectForgetSet, type ForgetSelector, type ForgetSet } from './forgetSet.js';
export type { UnlearningMethod, UnlearnContext, MethodOutput } from './method.js';
export { unlearn, type UnlearnResult } from './unlearn.js';
