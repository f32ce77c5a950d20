// README.md's configuration table against the one schema and the loader: every key documented,
// every documented key real, every env variable and flag mapped to its row's key, every default
// the real one (the loader's, with no file, env or flags).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENV_KEYS, FLAG_TO_ENV, loadConfig } from './load.ts';
import { checkDefault } from './readme-default.testkit.ts';
import { parseReadmeTable } from './readme-table.testkit.ts';
import { schemaLeaves } from './schema-leaves.testkit.ts';
import { ConfigSchema } from './schema.ts';

const rows = parseReadmeTable(readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8'));
const leaves = schemaLeaves(ConfigSchema);
const defaults: unknown = loadConfig({ env: {}, argv: [] });

/** Defaults the README states in words, because the value is too long for a table cell; each is
 *  still checked, and the README's wording must stay as written here. */
const IN_WORDS: Record<string, { text: string; holds: (v: unknown) => boolean }> = {
  // Two model entries (id, kind, backend, template, params): too big for a cell.
  models: {
    text: 'Llama-2-7b-chat and IDEFICS-9b-instruct on TGI',
    holds: (v) =>
      JSON.stringify((v as { id: string; backend: string }[]).map((m) => [m.id, m.backend])) ===
      JSON.stringify([['llama-2-7b-chat', 'tgi'], ['idefics-9b-instruct', 'tgi']]),
  },
  // A sentence of prompt text; the README only says what kind of prompt it is.
  systemPrompt: { text: 'a short helpful-assistant prompt', holds: (v) => typeof v === 'string' && /helpful/.test(v) && v.length <= 200 },
  // Forty phrases: the README names what they are.
  'audio.backchannels.phrases': {
    text: 'English and a few common phrases of other languages (`src/session/backchannel.ts`)',
    holds: (v) => Array.isArray(v) && ['yeah', 'uh-huh', 'i see', 'oui', 'ja'].every((p) => v.includes(p)),
  },
};

function at(value: unknown, key: string): unknown {
  let node = value;
  for (const part of key.split('.')) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part] : undefined;
  return node;
}

/** The config key an env variable sets (its model-URL paths patch `models`). */
function envKey(name: string): string | undefined {
  const path = ENV_KEYS[name]?.path;
  if (!path) return undefined;
  return path[0] === '@model' ? 'models' : path.join('.');
}

describe('README configuration table', () => {
  it('documents every schema key once, and only schema keys', () => {
    const documented = rows.map((r) => r.key);
    expect(documented.filter((k, i) => documented.indexOf(k) !== i), 'keys with two rows').toEqual([]);
    expect(leaves.filter((k) => !documented.includes(k)), 'schema keys missing from the table').toEqual([]);
    expect(documented.filter((k) => !leaves.includes(k)), 'table keys not in the schema').toEqual([]);
  });

  it('names only env variables and flags the loader maps to that row\'s key', () => {
    const wrong: string[] = [];
    for (const r of rows) {
      for (const env of r.env) {
        const key = envKey(env);
        if (key !== r.key) wrong.push(`README.md:${r.line} ${env}: documented for ${r.key}, loader maps it to ${key ?? 'nothing'}`);
      }
      for (const flag of r.flags) {
        const env = FLAG_TO_ENV[flag];
        const key = env === undefined ? undefined : envKey(env);
        if (key !== r.key) wrong.push(`README.md:${r.line} --${flag}: documented for ${r.key}, loader maps it to ${key ?? 'nothing'}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('documents every env variable and flag the loader reads', () => {
    const envs = rows.flatMap((r) => r.env);
    const flags = rows.flatMap((r) => r.flags);
    expect(Object.keys(ENV_KEYS).filter((e) => !envs.includes(e)), 'env variables missing from the table').toEqual([]);
    expect(Object.keys(FLAG_TO_ENV).filter((f) => !flags.includes(f)), 'flags missing from the table').toEqual([]);
  });

  it('states the real defaults', () => {
    const wrong: string[] = [];
    for (const r of rows) {
      const actual = at(defaults, r.key);
      const words = IN_WORDS[r.key];
      if (words) {
        if (r.defaultText !== words.text) wrong.push(`README.md:${r.line} ${r.key}: README says "${r.defaultText}", this test's allow-list expects "${words.text}"`);
        else if (!words.holds(actual)) wrong.push(`README.md:${r.line} ${r.key}: "${r.defaultText}" no longer describes ${JSON.stringify(actual)}`);
        continue;
      }
      const check = checkDefault(r.key, r.defaultText, actual);
      if (check.ok === 'uncomparable') wrong.push(`README.md:${r.line} ${r.key}: default ${JSON.stringify(actual)} cannot be compared with "${r.defaultText}"; add it to IN_WORDS`);
      else if (!check.ok) wrong.push(`README.md:${r.line} ${r.key}: ${check.why}`);
    }
    expect(Object.keys(IN_WORDS).filter((k) => !leaves.includes(k)), 'IN_WORDS keys not in the schema').toEqual([]);
    expect(wrong).toEqual([]);
  });
});
