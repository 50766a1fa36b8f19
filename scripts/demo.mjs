#!/usr/bin/env node
// `pnpm demo` (or `npm run demo`): the whole migration (S0 → S4, validate) and one live session, on the
// embedded defaults — no servers, no configuration. This file only bootstraps (it must run before
// `pnpm install` ever happened); the orchestrator is TypeScript in scripts/demo/, run with tsx.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ensureDependencies, log, root } from './lib/bootstrap.mjs';

try {
  ensureDependencies();
} catch (error) {
  log(`demo set-up failed: ${error.message}`);
  process.exit(1);
}

const tsx = join(root, 'node_modules', '.bin', 'tsx');
const child = spawn(tsx, [join(root, 'scripts', 'demo', 'main.ts'), ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
// The orchestrator stops its stand-ins and the service on these; pass them on and wait for it to finish.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
