/**
 * `unlearn certified plan`: choose λ and σ for certified removal so that K expected removals fit
 * the budget at the best accuracy (src/unlearn/certified/plan.ts) — parsing and printing only.
 */
import type { Command } from 'commander';
import { int, keyValue, num } from './args.js';
import { initEngine, type BackendName } from '../engine/backend.js';
import { loadDataset } from '../data/registry.js';
import { MAX_CERTIFIED_DIM } from '../unlearn/certified/format.js';
import { LAMBDA_GRID, planCertified } from '../unlearn/certified/plan.js';
import { UnlearnError } from '../errors.js';

const list = (v: string) => v.split(',').map(num);
const sci = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : '—');
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');

export function addCertifiedCommands(program: Command): void {
  const g = () => program.opts<{ json?: boolean; quiet?: boolean; backend: BackendName | 'auto' }>();
  const certified = program.command('certified').description('certified removal (Guo et al. 2020): planning');
  certified
    .command('plan')
    .description('choose λ and σ so that K expected removals fit the (ε, δ) budget at the best validation accuracy')
    .requiredOption('--removals <K>', 'removals expected before a retrain is acceptable', int)
    .option('--epsilon <ε>', 'ε of the guarantee', num, 1)
    .option('--delta <δ>', 'δ of the guarantee', num, 1e-5)
    .requiredOption('--dataset <name>', 'dataset name (see `unlearn datasets`)')
    .option('--data-option <key=value>', 'dataset loader option, e.g. dim=1024; repeatable', keyValue)
    .option('--batch-size <m>', 'rows removed per Newton step (how requests are batched)', int, 1)
    .option('--lambdas <list>', `λ grid, comma-separated (default ${LAMBDA_GRID.join(',')})`, list)
    .option('--probes <n>', 'Newton steps run per λ to measure the step bound', int, 16)
    .option('--margin <f>', 'safety factor on the estimated total bound', num, 1.25)
    .option('--seed <n>', 'seed of the validation holdout, the noise and the probed rows', int, 0)
    .action(async (o) => {
      await initEngine(g().backend);
      const split = await loadDataset(o.dataset, o.dataOption ?? {});
      const d = split.train.shape.reduce((a: number, b: number) => a * b, 1) + 1;
      if (d > MAX_CERTIFIED_DIM) throw new UnlearnError('INVALID_PARAMS', `${d} features are more than certified training takes (${MAX_CERTIFIED_DIM})`, 'e.g. --data-option dim=1024 for emails');
      const log = (l: string) => !g().quiet && !g().json && process.stderr.write(l + '\n');
      const p = planCertified(split, { removals: o.removals, epsilon: o.epsilon, delta: o.delta, batchSize: o.batchSize, lambdas: o.lambdas, probes: o.probes, margin: o.margin, seed: o.seed, log });
      if (g().json) {
        process.stdout.write(JSON.stringify(p, null, 1) + '\n');
        return;
      }
      const rows = p.candidates.map((c) =>
        [String(c.lambda), sci(c.meanStepBound), c.failed ? '—' : c.sigma.toPrecision(3), sci(c.budget), pct(c.validationAccuracy), c === p.chosen ? 'chosen' : c.failed ? 'infeasible' : ''].join('\t'),
      );
      const lines = [
        `${p.removals} removals in ${p.steps} Newton step${p.steps === 1 ? '' : 's'} of ${p.batchSize}; ε = ${p.epsilon}, δ = ${p.delta}, c = ${p.c.toFixed(3)}, margin ×${p.margin}; ${p.fitRows} rows fitted, ${p.validationRows} validated`,
        ['λ', 'step bound', 'σ', 'budget σε/c', 'val. acc.', ''].join('\t'),
        ...rows,
        `chosen: λ = ${p.chosen.lambda} (validation accuracy ${pct(p.chosen.validationAccuracy)}); on the whole train side its step bound is ${sci(p.final.meanStepBound)} and σ = ${p.final.sigma.toPrecision(3)}`,
        `check: ${p.check.stepsRun} further real steps, ${p.check.retrains} forced retrain${p.check.retrains === 1 ? '' : 's'}; ${p.steps} steps projected to use ${pct(p.check.projectedFraction)} of the budget; TA ${pct(p.check.testAccuracy)}`,
        p.defaults
          ? `today's defaults (λ = ${p.defaults.lambda}, σ = ${p.defaults.sigma}): budget ${sci(p.defaults.budget)}, step bound ${sci(p.defaults.meanStepBound)}: ${p.defaults.stepsThatFit} step${p.defaults.stepsThatFit === 1 ? '' : 's'} fit before a retrain (validation accuracy ${pct(p.defaults.validationAccuracy)})`
          : "today's defaults (λ = 1e-3, σ = 1) do not train on this data",
        `train it: unlearn train --dataset ${o.dataset} --model logreg --certified --epsilon ${p.epsilon} --delta ${p.delta} --lambda ${p.final.lambda} --sigma ${p.final.sigma.toPrecision(3)} --out DIR`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
