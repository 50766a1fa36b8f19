#!/usr/bin/env node
// `pnpm build` for an app: bundles its entry point and the workspace packages it imports (@vc/*, which
// ship TypeScript sources) into dist/ as JavaScript, so production starts with plain `node` — no tsx, no
// TypeScript transform at each start. npm dependencies stay external files in node_modules unless --bundle-npm
// (the migrator's build: node's ES module loader spent ~0.5 CPU s of each CLI start on the few hundred files of
// zod, drizzle-orm, pg, jose, commander… one by one); code splitting keeps the CLI's lazy `import()` of commands
// and phases lazy in the build.
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

const argv = process.argv.slice(2);
const bundleNpm = argv.includes('--bundle-npm');
const args = argv.filter((a) => a !== '--bundle-npm');
const outIndex = args.indexOf('--outdir');
const outName = outIndex < 0 ? 'dist' : args[outIndex + 1];
const entries = outIndex < 0 ? args : args.filter((_, i) => i !== outIndex && i !== outIndex + 1);
if (entries.length === 0 || !outName || outName.includes('/')) {
  console.error('usage: build-app.mjs [--bundle-npm] [--outdir <dir beside src>] <entry.ts>…');
  process.exit(2);
}

const outdir = resolve(outName);
const builtins = new Set(builtinModules);

/**
 * With --bundle-npm, npm packages go into the bundle too, except these: PGlite reads its WebAssembly and data
 * files beside its own module; pino loads its transports' worker files by path (thread-stream), and pino-pretty
 * goes with it; pg-native is pg's optional native binding, absent unless an operator installs it.
 */
const KEEP_EXTERNAL = new Set(['@electric-sql/pglite', 'pino', 'pino-pretty', 'pg-native']);

function packageName(path) {
  const parts = path.split('/');
  return path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** npm packages stay out of the bundle, imported from the file the importing package would load. */
const externalNpm = {
  name: 'external-npm',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('@vc/') || args.pluginData?.resolving) return undefined;
      if (args.path.startsWith('node:') || builtins.has(args.path.split('/')[0])) return { path: args.path, external: true };
      if (bundleNpm && !KEEP_EXTERNAL.has(packageName(args.path))) return undefined;
      if (args.path === 'pg-native') return { path: args.path, external: true };
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
  // CommonJS packages in the bundle require() Node's built-ins, which an ES module has no require for.
  banner: bundleNpm
    ? { js: "import { createRequire as __vcCreateRequire } from 'node:module'; const require = __vcCreateRequire(import.meta.url);" }
    : undefined,
  logLevel: 'warning',
});
