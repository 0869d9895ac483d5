/** Registers the language-model unlearning methods. */
import { genericLabels } from './genericLabels.js';
import { gradientAscent } from './gradientAscent.js';
import { gradientDifference } from './gradientDifference.js';
import { klRegularized } from './klRegularized.js';
import { listLmMethods, registerLmMethod } from './method.js';
import { npo } from './npo.js';
import { npoKl } from './npoKl.js';
import { retrainLm } from './retrain.js';
import { rmu } from './rmu.js';
import { simnpo } from './simnpo.js';

if (listLmMethods().length === 0) for (const m of [retrainLm, gradientAscent, gradientDifference, klRegularized, npo, genericLabels, simnpo, rmu, npoKl]) registerLmMethod(m);

export { getLmMethod, listLmMethods, registerLmMethod, parseLmParams, type LmMethod, type LmUnlearnContext } from './method.js';
