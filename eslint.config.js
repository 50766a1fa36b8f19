// One lint config for the workspace. Package boundaries are rules here, so they hold without anyone
// having to remember them: domain imports nothing of ours and does no I/O; packages never import the
// apps; neither app imports the other. The edges are path zones on the *resolved* file, so a relative
// escape (`../../../apps/…`) is caught like a package import; scripts/lint-boundaries.test.ts probes each.
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const nodeIo = ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'net', 'node:net', 'http', 'node:http', 'child_process', 'node:child_process'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/dist-test*/**', '**/.data/**', '**/drizzle/**', 'scripts/**', '**/*.config.*', 'eslint.config.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    files: ['packages/domain/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeIo, 'pg', 'express', 'mysql2', 'mysql2/promise', 'drizzle-orm', 'pino', 'nats'].map((name) => ({
            name,
            message: 'domain is values in, values out: no I/O',
          })),
          patterns: [{ group: ['@vc/*'], message: 'domain imports nothing of ours' }],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'domain reads no env: pass values in' }, { name: 'fetch', message: 'domain does no I/O' }],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'domain has no clock: pass `now` in' },
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'domain has no clock: pass `now` in' },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          noWarnOnMultipleProjects: true,
          project: ['apps/*/tsconfig.json', 'packages/*/tsconfig.json', 'fixtures/tsconfig.json', 'bench/tsconfig.json'],
        }),
      ],
    },
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: import.meta.dirname,
          zones: [
            {
              target: './packages/domain/src',
              from: ['./packages/schema', './packages/integrations', './packages/config', './apps', './fixtures', './bench', './scripts'],
              message: 'domain imports nothing of ours',
            },
            {
              target: ['./packages/schema/src', './packages/integrations/src', './packages/config/src'],
              from: ['./apps', './bench', './scripts'],
              message: 'packages never import the apps',
            },
            { target: './apps/service/src', from: './apps/migrator', message: 'neither app imports the other' },
            { target: './apps/migrator/src', from: './apps/service', message: 'neither app imports the other' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'bench/**/*.ts', 'fixtures/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
