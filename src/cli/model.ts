/**
 * `unlearn model import|export`: bring a model trained elsewhere (TensorFlow.js, PyTorch
 * safetensors) under unlearning, and take it back out. Parsing and printing only; the work is in
 * src/workflows/modelTransfer.ts.
 */
import { Command, Option } from 'commander';
import { keyValue } from './args.js';
import { initEngine, type BackendName } from '../engine/backend.js';
import { pct } from '../report/table.js';
import { checkOutDir } from '../workflows.js';
import { exportModelWorkflow, importModelWorkflow } from '../workflows/modelTransfer.js';

/** Add the `model` command group to `program` (which defines --json, --quiet and --backend). */
export function addModelCommands(program: Command): void {
  const g = () => program.opts<{ json?: boolean; quiet?: boolean; backend: BackendName | 'auto' }>();
  const out = (value: unknown, text: string) => process.stdout.write(g().json ? JSON.stringify(value, null, 1) + '\n' : text + '\n');
  const model = program.command('model').description('import a model trained elsewhere (TensorFlow.js or PyTorch safetensors), export one back');
  model
    .command('import')
    .description('wrap a TensorFlow.js LayersModel or PyTorch safetensors weights in a model directory with a declared lineage')
    .option('--tfjs <model.json>', 'a TensorFlow.js LayersModel (model.json with its weight files beside it)')
    .option('--safetensors <file>', 'PyTorch weights (state dict) of a supported architecture')
    .option('--spec <SPEC.json>', 'safetensors: {"spec": {kind, inputShape, numClasses, ...}, "flatten": "nchw"|"nhwc", "names": [...]}')
    .requiredOption('--dataset <name>', 'the dataset the model was trained on (see `unlearn datasets`)')
    .option('--data-option <key=value>', 'built-in dataset loader option; repeatable', keyValue)
    .option('--trained-on <train|FILE>', "the rows that trained it: 'train' (every train-side row) or a file of ids, one per line", 'train')
    .option('--recipe <FILE>', 'the training recipe as JSON (optimizer, learningRate, epochs, batchSize, weightDecay, seed); without it only approximate methods apply')
    .option('--declared-by <name>', 'who declares the lineage (default: the OS user)')
    .requiredOption('--out <dir>', 'model directory to write (must not exist, unless --force)')
    .option('--force', 'replace --out if it exists')
    .action(async (o) => {
      checkOutDir(o.out, { force: o.force });
      await initEngine(g().backend);
      const m = await importModelWorkflow({ tfjs: o.tfjs, safetensors: o.safetensors, spec: o.spec, dataset: o.dataset, dataOptions: o.dataOption, trainedOn: o.trainedOn, recipe: o.recipe, declaredBy: o.declaredBy, out: o.out });
      const d = m.declared!;
      out(
        { modelDir: o.out, modelHash: m.modelHash, spec: m.spec, declared: d, metrics: m.metrics },
        [`imported ${m.spec.kind} from ${d.source.file} → ${o.out} (model ${m.modelHash.slice(0, 12)}, TA ${pct(m.metrics.TA as number)}%)`, `lineage declared by ${d.by} at ${d.at}: ${d.lineage}`, ...d.notes].join('\n'),
      );
    });
  model
    .command('export')
    .description('export a model directory as a TensorFlow.js LayersModel directory or a PyTorch safetensors file')
    .requiredOption('--model <dir>', 'model directory')
    .addOption(new Option('--format <fmt>', 'tfjs: a directory with model.json + weights.bin; safetensors: one file').choices(['tfjs', 'safetensors']).makeOptionMandatory())
    .requiredOption('--out <path>', 'output (must not exist, unless --force)')
    .option('--force', 'replace --out if it exists')
    .action(async (o) => {
      await initEngine(g().backend);
      const r = await exportModelWorkflow({ modelDir: o.model, format: o.format, out: o.out, force: o.force });
      out(r, `exported ${o.model} (model ${r.modelHash.slice(0, 12)}) as ${o.format} → ${o.out} (${r.bytes} bytes)`);
    });
}
