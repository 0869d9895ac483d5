/**
 * `unlearn data import|show` and the global `--data-root` option: bring a user's own table into
 * the data root (src/data/import). Parsing and printing only.
 */
import { Command, Option } from 'commander';
import { int, num } from './args.js';
import { UnlearnError } from '../errors.js';
import { importTable } from '../data/import/importTable.js';
import { importText } from '../data/import/importText.js';
import { parseImageShape } from '../data/import/images.js';
import { dataRoot, readSchema, type DatasetSchema } from '../data/import/store.js';

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

/** A human summary of an imported dataset's schema: counts, label, columns. */
export function schemaSummary(s: DatasetSchema): string {
  const lines = [
    `${s.name}: ${s.description}`,
    `source: ${s.source.file} (${s.source.format}, ${s.source.bytes} bytes, sha256 ${s.source.sha256.slice(0, 16)}…)`,
    `fingerprint: ${s.fingerprint}`,
    `rows: ${s.counts.rows} (train ${s.counts.train}, test ${s.counts.test}); subjects: ${s.counts.subjects}; features: [${s.features.shape}]`,
    `label '${s.label.column}': ${s.label.type === 'numeric' ? `numeric (class = value >= train median ${s.label.threshold})` : `${s.label.classNames.length} classes`}; train per class: ${Object.entries(s.counts.perClass).map(([c, k]) => `${c} ${k}`).join(', ')}`,
    `split: ${JSON.stringify(s.split)}`,
    'columns:',
    ...s.columns.map((c) => {
      const what = c.role !== 'feature' ? c.role : c.type === 'image' ? `image, resized to [${s.features.shape}]` : c.type === 'numeric' ? `numeric, train mean ${c.mean!.toPrecision(6)}, std ${c.std!.toPrecision(6)}` : `categorical, ${c.vocabulary!.length} values: ${c.vocabulary!.slice(0, 8).join(', ')}${c.vocabulary!.length > 8 ? ', …' : ''}`;
      return `  ${c.name.padEnd(20)} ${what}${c.missing ? ` (${c.missing} missing, imputed)` : ''}`;
    }),
  ];
  return lines.join('\n');
}

/** Add `--data-root` (sets UNLEARN_HOME for the run and its workers) and the `data` command group. */
export function addDataCommands(program: Command): void {
  const g = () => program.opts<{ json?: boolean; quiet?: boolean; dataRoot?: string }>();
  const out = (value: unknown, text: string) => process.stdout.write(g().json ? JSON.stringify(value, null, 1) + '\n' : text + '\n');
  program.option('--data-root <dir>', 'where imported datasets live (default: $UNLEARN_HOME, else ~/.unlearn)');
  program.hook('preAction', () => {
    const root = g().dataRoot;
    if (root) process.env.UNLEARN_HOME = root;
  });

  const data = program.command('data').description('import your own table as a dataset (then --dataset NAME works in every command)');
  data
    .command('import')
    .description('import a CSV, JSONL, JSON (array) or Parquet table: features (standardised / one-hot), ids, subjects, labels, split, schema, fingerprint')
    .requiredOption('--name <name>', 'dataset name (letters, digits, . _ -)')
    .option('--file <path>', 'the table file')
    .option('--image-dir <dir>', 'an image folder DIR/<class>/<image>.png|jpg instead of a table (id <class>/<file>, label the class)')
    .option('--image-col <col>', 'column of PNG/JPEG paths (relative to the table file): the image is the only feature')
    .option('--image-shape <H,W,C>', 'resize every image to H×W with C = 1 (luma) or 3 (RGB) channels', parseImageShape)
    .addOption(new Option('--format <fmt>', 'file format (default: from the extension)').choices(['csv', 'jsonl', 'json', 'parquet']))
    .option('--id-col <col>', 'column of unique example ids (default: row-<k> by data row)')
    .option('--subject-col <col>', 'column of the subject (person, source) each row belongs to (default: each row its own subject)')
    .option('--label-col <col>', 'label column (default: label)')
    .option('--text-col <col>', 'import a text corpus for `unlearn lm train --corpus NAME` instead: the text column (with --id-col, default id, and --subject-col, default source)')
    .addOption(new Option('--label-type <type>', 'class labels, or a numeric target (ridge; classifiers use value >= train median)').choices(['class', 'numeric']))
    .option('--feature-cols <a,b,…>', 'feature columns (default: every column not named as id, subject, label or split)', list)
    .option('--categorical-cols <a,b,…>', 'feature columns to one-hot even when they hold numbers', list)
    .option('--split-col <col>', "column holding 'train' or 'test' per row")
    .option('--test-fraction <f>', 'test side fraction of the seeded stratified split (default 0.2)', num)
    .option('--seed <n>', 'seed of the split', int, 0)
    .addOption(new Option('--impute <how>', 'missing numeric values: an error (none), the train mean, or zero').choices(['none', 'mean', 'zero']).default('none'))
    .option('--max-categories <n>', 'largest vocabulary of a categorical column or label', int, 1000)
    .option('--force', 'replace an existing dataset of that name')
    .action(async (o) => {
      const t0 = performance.now();
      if (o.textCol) {
        if (!o.file) throw new UnlearnError('INVALID_ARGS', 'no --file given', 'pass --file corpus.jsonl');
        const c = await importText({ name: o.name, file: o.file, format: o.format, idCol: o.idCol, sourceCol: o.subjectCol, textCol: o.textCol, force: o.force });
        const sec = (performance.now() - t0) / 1000;
        out({ ...c, seconds: sec }, `imported text corpus ${c.name}: ${c.documents} documents of ${Object.keys(c.sources).length} sources in ${sec.toFixed(1)} s\n${Object.entries(c.sources).map(([s, v]) => `  ${s.padEnd(30)} ${v.documents} documents, ${v.bytes} bytes`).join('\n')}\ntrain a language model on it with \`unlearn lm train --corpus ${c.name} --out DIR\``);
        return;
      }
      if (!o.file && !o.imageDir) throw new UnlearnError('INVALID_ARGS', 'no input given', 'pass --file PATH (a table) or --image-dir DIR');
      const s = await importTable({
        name: o.name,
        file: o.file ?? o.imageDir,
        imageDir: o.imageDir,
        imageCol: o.imageCol,
        imageShape: o.imageShape,
        format: o.format,
        idCol: o.idCol,
        subjectCol: o.subjectCol,
        labelCol: o.labelCol,
        labelType: o.labelType,
        featureCols: o.featureCols,
        categoricalCols: o.categoricalCols,
        splitCol: o.splitCol,
        testFraction: o.testFraction,
        seed: o.seed,
        impute: o.impute,
        maxCategories: o.maxCategories,
        force: o.force,
      });
      const sec = (performance.now() - t0) / 1000;
      out({ ...s, dir: `${dataRoot()}/datasets/${s.name}`, seconds: sec }, `imported ${s.name} into ${dataRoot()}/datasets/${s.name} in ${sec.toFixed(1)} s\n${schemaSummary(s)}`);
    });
  data
    .command('show')
    .description('print the schema and counts of an imported dataset')
    .argument('<name>', 'dataset name')
    .action((name: string) => {
      const s = readSchema(name);
      if (!s) throw new UnlearnError('DATASET_MISSING', `no imported dataset '${name}' in ${dataRoot()}`, 'list datasets with `unlearn datasets`, or import one with `unlearn data import`');
      out(s, schemaSummary(s));
    });
}
