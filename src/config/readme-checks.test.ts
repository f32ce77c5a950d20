// The README table checker itself: it parses grouped rows, normalises the README's units, and
// reports drift (so readme-table.test.ts cannot pass by checking nothing).
import { describe, expect, it } from 'vitest';
import { checkDefault } from './readme-default.testkit.ts';
import { parseReadmeTable } from './readme-table.testkit.ts';

const table = (...rows: string[]): string => ['| key (file) | env | flag | default | meaning |', '|---|---|---|---|---|', ...rows, '', 'after'].join('\n');

describe('parseReadmeTable', () => {
  it('splits grouped rows, relative names under the first key\'s parent', () => {
    const rows = parseReadmeTable(table(
      '| `audio.vad.mode` / `startMs` / `other.key` | `VLP_A` / `VLP_B` / `VLP_C` (comma-separated) | | 2 / none (a remark / with a slash) / 10 s | x\\|y |',
      '| `models[]` | `VLP_T`, `VLP_I` | `--t`, `--i` | words | m |',
    ));
    expect(rows.map((r) => [r.key, r.env, r.flags, r.defaultText])).toEqual([
      ['audio.vad.mode', ['VLP_A'], [], '2'],
      ['audio.vad.startMs', ['VLP_B'], [], 'none (a remark / with a slash)'],
      ['other.key', ['VLP_C'], [], '10 s'],
      ['models', ['VLP_T', 'VLP_I'], ['t', 'i'], 'words'],
    ]);
  });

  it('fails clearly on formats it does not know', () => {
    expect(() => parseReadmeTable('no table')).toThrow(/header .* not found/);
    expect(() => parseReadmeTable(table('| `a.b` / `c` | | | 1 | m |'))).toThrow(/README.md:3: 2 keys but 1 default values/);
    expect(() => parseReadmeTable(table('| `a.b` | VLP_X | | 1 | m |'))).toThrow(/README.md:3: unrecognised text "VLP_X"/);
    expect(() => parseReadmeTable(table('| a.b | | | 1 | m |'))).toThrow(/not one backticked key/);
    expect(() => parseReadmeTable(table('| `a.b` | | | 1 |'))).toThrow(/4 cells, want 5/);
  });
});

describe('checkDefault', () => {
  it('reads units, thousands spaces, none, booleans and strings', () => {
    expect(checkDefault('x.bytes', '256 KiB', 256 << 10)).toEqual({ ok: true });
    expect(checkDefault('x.bytes', '1 MiB', 1 << 20)).toEqual({ ok: true });
    expect(checkDefault('x.timeoutMs', '10 s', 10_000)).toEqual({ ok: true });
    expect(checkDefault('x.n', '30 000', 30_000)).toEqual({ ok: true });
    expect(checkDefault('x.n', '40 000 000', 40_000_000)).toEqual({ ok: true });
    expect(checkDefault('x.dbfs', '-50', -50)).toEqual({ ok: true });
    expect(checkDefault('x.url', 'none (the simulator)', undefined)).toEqual({ ok: true });
    expect(checkDefault('x.hosts', 'none', [])).toEqual({ ok: true });
    expect(checkDefault('x.on', 'false', false)).toEqual({ ok: true });
    expect(checkDefault('x.path', '/v1/ws', '/v1/ws')).toEqual({ ok: true });
  });

  it('reports drift', () => {
    expect(checkDefault('x.bytes', '4 MiB', 1 << 20).ok).toBe(false);
    expect(checkDefault('x.n', '300 00', 30_000).ok).toBe(false);
    expect(checkDefault('x.language', 'auto', undefined).ok).toBe(false);
    expect(checkDefault('x.n', 'none', 5).ok).toBe(false);
    expect(checkDefault('x.on', 'true', false).ok).toBe(false);
    expect(checkDefault('x.n', '8080', '8080').ok).toBe(true);
    expect(checkDefault('x.n', '8080', 8081).ok).toBe(false);
    expect(checkDefault('x.models', 'two models', [{ id: 'a' }]).ok).toBe('uncomparable');
    expect(() => checkDefault('x.bytes', '10 s', 10_000)).toThrow(/not in ms/);
  });
});
