#!/usr/bin/env node
// The `migrator` executable: registers tsx's TypeScript loader in this process and runs the CLI here,
// so the process a supervisor signals is the one that holds the run's lock (no tsx or shell child in
// between). `pnpm migrator`, `npm run migrator`, a container entrypoint and systemd all start this file.
import { register } from 'tsx/esm/api';

register();
await import('../src/bin.ts');
