import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Every .ts file under `dir` (tests included), recursively. */
function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Relative module specifiers of a file's static imports/exports (`import … from`, `export … from`, `import '…'`) and dynamic `import('…')`. */
export function importSpecifiers(source: string): string[] {
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  return [...source.matchAll(re)].map((m) => m[1] ?? m[2] ?? m[3]).filter((s) => s.startsWith('.'));
}

/** Files under src/<from> that import a module under src/<to>, as "file → specifier". */
function crossings(from: string, to: string): string[] {
  const target = join(SRC, to) + '/';
  return tsFiles(join(SRC, from)).flatMap((f) =>
    importSpecifiers(readFileSync(f, 'utf8'))
      .filter((s) => (resolve(dirname(f), s) + '/').startsWith(target))
      .map((s) => `${relative(SRC, f)} → ${s}`),
  );
}

test('the import scanner sees static, side-effect, re-export and dynamic imports', () => {
  const src = "import a from '../eval/x.js';\nimport type { B } from\n  '../eval/y.js';\nexport { c } from './z.js';\nimport '../eval/w.js';\nconst m = await import('../eval/v.js');\nimport fs from 'node:fs';";
  assert.deepEqual(importSpecifiers(src), ['../eval/x.js', '../eval/y.js', './z.js', '../eval/w.js', '../eval/v.js']);
});

test('layering: methods (src/unlearn) never import metrics (src/eval), and metrics never import methods', () => {
  assert.deepEqual(crossings('unlearn', 'eval'), [], 'src/unlearn must not import src/eval: put the wiring in src/workflows');
  assert.deepEqual(crossings('eval', 'unlearn'), [], 'src/eval must not import src/unlearn: put the wiring in src/workflows');
});
