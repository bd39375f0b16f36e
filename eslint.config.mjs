// ESLint for every project: typescript-eslint's recommended rules, Nx's module boundaries (the
// project tags in each project.json), and eslint-config-prettier last so formatting is Prettier's alone.
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

/** The layers of the design: pure domain rules, shared contracts, then the apps on top. The domain
 *  imports no package at all (it runs anywhere, the SPA included); its tests may use their runners. */
const boundaries = (domainTestImports) => ({
  enforceBuildableLibDependency: false,
  allow: [],
  depConstraints: [
    { sourceTag: 'scope:domain', onlyDependOnLibsWithTags: ['scope:domain'], allowedExternalImports: domainTestImports },
    { sourceTag: 'scope:contracts', onlyDependOnLibsWithTags: ['scope:domain'] },
    { sourceTag: 'scope:client', onlyDependOnLibsWithTags: [] },
    { sourceTag: 'scope:api', onlyDependOnLibsWithTags: ['scope:domain', 'scope:contracts'] },
    { sourceTag: 'scope:provider-agent', onlyDependOnLibsWithTags: ['scope:domain', 'scope:contracts'] },
    { sourceTag: 'scope:web', onlyDependOnLibsWithTags: ['scope:domain', 'scope:client'] },
    { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: ['scope:client'] },
  ],
});

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '.cache/**', '.nx/**', 'test-results/**', 'data/**', 'libs/api-client/src/schema.ts'],
  },
  ...tseslint.configs.recommended,
  ...nx.configs['flat/base'],
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.js', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // The layers of the design: pure domain rules, shared contracts, then the apps on top; the
      // domain imports no package at all (it must stay runnable anywhere, the SPA included).
      '@nx/enforce-module-boundaries': ['error', boundaries([])],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    files: ['libs/domain/src/**/*.spec.ts', 'libs/domain/vitest.config.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', boundaries(['vitest', 'vitest/config', 'fast-check'])] },
  },
  {
    // The API tests on PostgreSQL start a private cluster with the repository's tool (tools/ is no Nx project).
    files: ['apps/api/test/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', { ...boundaries([]), allow: ['../../../tools/postgres/cluster.mjs'] }] },
  },
  {
    files: ['apps/web/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'error' },
  },
  prettier,
);
