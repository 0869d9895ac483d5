/** Registers the language-model unlearning methods. */
import { genericLabels } from './genericLabels.js';
import { gradientAscent } from './gradientAscent.js';
import { gradientDifference } from './gradientDifference.js';
import { klRegularized } from './klRegularized.js';
import { listLmMethods, registerLmMethod } from './method.js';
import { npo } from './npo.js';
import { retrainLm } from './retrain.js';

if (listLmMethods().length === 0) for (const m of [retrainLm, gradientAscent, gradientDifference, klRegularized, npo, genericLabels]) registerLmMethod(m);

export { getLmMethod, listLmMethods, registerLmMethod, parseLmParams, type LmMethod, type LmUnlearnContext } from './method.js';
