// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/**
 * `npm run lint` runs this and `prettier --check`. Layout is Prettier's alone (eslint-config-prettier turns
 * every layout rule off), so the two never disagree.
 *
 * Workflow code runs in Temporal's deterministic sandbox, and domain/ is imported by it: neither may import a
 * Node built-in. The rule is the one Temporal's samples-typescript uses for its workflow files.
 */
const nodeBuiltins = builtinModules.filter((name) => !name.startsWith('_')).flatMap((name) => [name, `node:${name}`]);

export default tseslint.config(
  {
    // Generated, recorded or third-party files; coordinator/los.mjs is a small launcher outside the TypeScript project.
    ignores: ['node_modules/**', '.tools/**', '.data/**', 'dist/**', 'bench/results/**', 'schemas/**', 'test/histories/**', 'coordinator/los.mjs'],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended, prettier],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A workflow or activity call that is not awaited is a bug the type checker cannot see.
      '@typescript-eslint/no-floating-promises': 'error',
      // `_` marks an argument a signature requires but the function does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'object-shorthand': ['error', 'always'],
    },
  },
  {
    // bench/baseline-workflow.ts is bundled into the sandbox too.
    files: ['workflows/**/*.ts', 'domain/**/*.ts', 'bench/baseline-workflow.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({
              name,
              message:
                'Workflow code runs in a deterministic sandbox and domain/ is imported by it: no Node built-ins here. Do this in an activity or the caller.',
            })),
            // Their types describe what the workflow talks to; their code runs only outside the sandbox.
            ...['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing'].map((name) => ({
              name,
              allowTypeImports: true,
              message: 'Outside the workflow sandbox only; import its types with `import type`.',
            })),
          ],
          patterns: [
            {
              group: [
                '**/messaging/**',
                '**/config/**',
                '**/vault/**',
                '**/activities/**',
                '**/workers/**',
                '**/coordinator/**',
                '**/agencies/**',
                '**/scripts/**',
                '**/bench/**',
                '**/test/**',
              ],
              allowTypeImports: true,
              message: 'Node-side code: workflows/ and domain/ may import only its types (`import type`), as the samples do with activities.',
            },
          ],
        },
      ],
    },
  },
  {
    // domain/ holds the rules as pure functions over plain data: no clock and no chance, or a test cannot pin them.
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'domain/ has no clock: take the time as an argument.' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'domain/ has no clock: take the time as an argument.' },
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'domain/ is deterministic: take randomness as an argument.',
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['process', 'Buffer', 'require', '__dirname', '__filename'].map((name) => ({
          name,
          message: 'domain/ runs in the workflow sandbox, which has no Node globals.',
        })),
      ],
    },
  },
  {
    // The eslint config itself is plain JavaScript run by Node.
    files: ['eslint.config.js'],
    extends: [js.configs.recommended, prettier],
  },
);
