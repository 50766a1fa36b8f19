#!/usr/bin/env node
// `pnpm build` for an app: bundles its entry point and the workspace packages it imports (@vc/*, which
// ship TypeScript sources) into dist/ as JavaScript, so production starts with plain `node` — no tsx, no
// TypeScript transform at each start. npm dependencies stay external files in node_modules; code
// splitting keeps the CLI's lazy `import()` of commands and phases lazy in the build.
//
// pnpm gives each package only its own dependencies, so `drizzle-orm` imported by packages/schema is not
// resolvable from apps/migrator/dist. Each external import is therefore resolved where it is written (as
// Node would in development) and imported by its path relative to dist/, into the same node_modules.
// Usage (from an app's directory): node ../../scripts/build-app.mjs [--outdir dist] src/bin.ts
// `pnpm test` builds the migrator into dist-test-<pid>/ (scripts/test-build.mjs), beside dist/ so that paths relative to
// the bundle read the same files, and apart from it so that scripts/build.test.ts can rebuild dist/ meanwhile.
import { rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';

const args = process.argv.slice(2);
const outIndex = args.indexOf('--outdir');
const outName = outIndex < 0 ? 'dist' : args[outIndex + 1];
const entries = outIndex < 0 ? args : args.filter((_, i) => i !== outIndex && i !== outIndex + 1);
if (entries.length === 0 || !outName || outName.includes('/')) {
  console.error('usage: build-app.mjs [--outdir <dir beside src>] <entry.ts>…');
  process.exit(2);
}

const outdir = resolve(outName);
const builtins = new Set(builtinModules);

/** npm packages stay out of the bundle, imported from the file the importing package would load. */
const externalNpm = {
  name: 'external-npm',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('@vc/') || args.pluginData?.resolving) return undefined;
      if (args.path.startsWith('node:') || builtins.has(args.path.split('/')[0])) return { path: args.path, external: true };
      const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: { resolving: true } });
      if (found.errors.length > 0) return { errors: found.errors };
      return { path: `./${relative(outdir, found.path).split(sep).join('/')}`, external: true };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: entries,
  outdir,
  // dist/ sits where src/ does, so paths relative to import.meta.url (../package.json) read the same files.
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  plugins: [externalNpm],
  logLevel: 'warning',
});
