// Lint rules that matter to this code base: no import cycles, imports that point down the
// layers (docs/design.md, "Architecture"), no unused names, no `any`. Formatting is prettier's.
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** The folders of src/, top layer first. A folder may import from the layers below its own, never above or beside. */
const layers = [
  ['cli'],
  ['experiments', 'bench'],
  ['report', 'distributed'],
  ['escape'],
  ['train'],
  ['measures', 'theory'],
  ['algorithms'],
  ['models', 'data', 'graph'],
  ['stats'],
  ['tensor'],
  ['util'],
];

// import-x's TypeScript settings (extensions, parser), with the resolver of eslint-import-resolver-typescript.
const { 'import-x/resolver': _, ...typescriptSettings } = importX.flatConfigs.typescript.settings;

const placed = layers.flat();
const unplaced = readdirSync('src', { withFileTypes: true })
  .filter((e) => e.isDirectory() && !placed.includes(e.name))
  .map((e) => `src/${e.name}`);
if (unplaced.length > 0) {
  throw new Error(
    `eslint.config.js: ${unplaced.join(', ')} has no layer — add it to \`layers\` (and to docs/design.md)`,
  );
}

const zones = layers
  .flatMap((layer, i) =>
    layer.map((folder) => {
      const above = layers
        .slice(0, i + 1)
        .flat()
        .filter((f) => f !== folder);
      const below = layers.slice(i + 1).flat();
      return {
        target: `./src/${folder}`,
        from: above.map((f) => `./src/${f}`),
        message: `src/${folder} may import only from the layers below it (${below.join(', ') || 'none'}) and src/errors.ts.`,
      };
    }),
  )
  .filter((zone) => zone.from.length > 0);

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'bench/results/', 'docs/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: {
      ...typescriptSettings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-unresolved': 'error',
      'import-x/no-duplicates': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'import-x/no-useless-path-segments': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            ...zones,
            {
              target: './src/errors.ts',
              from: './src',
              except: ['./errors.ts'],
              message: 'src/errors.ts is the bottom: it imports nothing from src/.',
            },
            {
              target: './src',
              from: ['./test', './bench', './scripts', './examples'],
              message: 'the package (dist/src) must not import from outside src/.',
            },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
