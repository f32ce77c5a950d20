// Lint config: typescript-eslint recommended rules, strict about `any` and unhandled promises.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', '.tmp/**', 'node_modules/**', 'loadtest/reports/**', 'clients/web/dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // The gateway core never imports the simulator; only the composition root may load it.
    files: ['src/**/*.ts'],
    // Tests may drive the simulator directly; the composition root loads it when no URL is set.
    ignores: ['src/main.ts', 'src/**/*.test.ts', 'src/**/*.testkit.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/sim/**', '../sim/*', '../../sim/*'], message: 'src/ must reach the simulator only by URL' }] }],
    },
  },
  {
    files: ['clients/node/cli.ts', 'loadtest/**', 'sim/main.ts', '**/*.test.ts', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['loadtest/k6/**/*.js'],
    languageOptions: { globals: { __ENV: 'readonly', __VU: 'readonly', __ITER: 'readonly', console: 'readonly' } },
  },
);
