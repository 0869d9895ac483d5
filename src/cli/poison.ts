/** `unlearn bench --scenario poison` (src/workflows/poison.ts): parsing and writing only. */
import { join } from 'node:path';
import { initEngine, type BackendName } from '../engine/backend.js';
import { UnlearnError } from '../errors.js';
import { ensureDir } from '../models/io.js';
import { renderSvg } from '../report/html.js';
import { writeTextAtomic } from '../workflows.js';
import { poisonMarkdown, poisonPlotSpec, runPoisonScenario } from '../workflows/poison.js';
import { int, num } from './args.js';

/** Options of the bench command that the poison scenario reads. */
export interface PoisonCliOptions {
  dataset: string;
  datasetExplicit: boolean;
  methods: string;
  params?: Record<string, Record<string, unknown>>;
  poisonFraction: number;
  target: number;
  flipClasses: string;
  flipFraction: number;
  known: string;
  limit?: number;
  out: string;
  seed: number;
  hidden: string;
  epochs: number;
  batchSize: number;
  lr: number;
}

/** Run the scenario and write poison.md, poison.json and one SVG plot per poisoning into `out`. */
export async function runPoisonCommand(o: PoisonCliOptions, g: { json?: boolean; quiet?: boolean; backend: BackendName | 'auto' }): Promise<void> {
  await initEngine(g.backend);
  const dataset = o.datasetExplicit ? o.dataset : 'fashion-mnist';
  const flip = o.flipClasses.split(',').map((s) => int(s.trim()));
  if (flip.length !== 2) throw new UnlearnError('INVALID_ARGS', `--flip-classes '${o.flipClasses}' must name two classes`, 'e.g. --flip-classes 0,6');
  const ids = o.methods.split(',').map((s) => s.trim()).filter(Boolean);
  const r = await runPoisonScenario({
    dataset,
    datasetOptions: o.limit !== undefined ? { limit: o.limit } : {},
    poisons: [
      { kind: 'backdoor', fraction: o.poisonFraction, target: o.target },
      { kind: 'label-flip', fraction: o.flipFraction, classes: [flip[0], flip[1]] },
    ],
    knownFractions: o.known.split(',').map((s) => num(s.trim())),
    methods: ids.map((id) => ({ id, params: o.params?.[id] ?? {} })),
    hidden: o.hidden.split(',').map((s) => int(s.trim())),
    recipe: { epochs: o.epochs, batchSize: o.batchSize, learningRate: o.lr },
    seed: o.seed,
    log: g.quiet || g.json ? undefined : (l) => process.stderr.write(l + '\n'),
  });
  await ensureDir(o.out);
  await writeTextAtomic(join(o.out, 'poison.md'), poisonMarkdown(r));
  await writeTextAtomic(join(o.out, 'poison.json'), JSON.stringify(r, null, 2) + '\n');
  for (const kind of ['backdoor', 'label-flip'] as const) await writeTextAtomic(join(o.out, `poison-${kind}.svg`), await renderSvg(poisonPlotSpec(r, kind) as never));
  if (g.json) process.stdout.write(JSON.stringify(r) + '\n');
  else process.stdout.write(`${poisonMarkdown(r)}\n${o.out}/poison.md, poison.json, poison-backdoor.svg, poison-label-flip.svg\n`);
}
