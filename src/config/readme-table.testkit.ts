// Parses README.md's configuration table ("| key (file) | env | flag | default | meaning |") into one
// entry per config key. A row may group keys: "`asr.partialIntervalMs` / `finalizeTimeoutMs`", the
// later names relative to the first one's parent unless dotted, with the env, flag and default cells
// grouped the same way ("700 / 1500"), or empty. Anything else throws, naming the row.

export interface ReadmeKey {
  /** Dotted schema path; the table's `models[]` is `models`. */
  key: string;
  env: string[];
  flags: string[];
  /** The default cell's text for this key, trimmed. */
  defaultText: string;
  /** The row, for failure messages. */
  line: number;
}

const HEADER = /^\|\s*key \(file\)\s*\|\s*env\s*\|\s*flag\s*\|\s*default\s*\|\s*meaning\s*\|\s*$/;

/** Split a row on its unescaped pipes (`llm\|vlm` stays in its cell). */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** Split on " / " outside backticks and parentheses. */
export function splitGroup(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let code = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '`') code = !code;
    else if (!code && ch === '(') depth++;
    else if (!code && ch === ')') depth--;
    else if (!code && depth === 0 && text.startsWith(' / ', i)) {
      parts.push(text.slice(start, i).trim());
      start = i + 3;
      i += 2;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

function keysOf(cell: string, where: string): string[] {
  const names = splitGroup(cell).map((part) => {
    const m = /^`([A-Za-z][\w.]*)(\[\])?`$/.exec(part);
    if (!m?.[1]) throw new Error(`${where}: key cell part "${part}" is not one backticked key`);
    return m[1];
  });
  const first = names[0] as string;
  const parent = first.includes('.') ? first.slice(0, first.lastIndexOf('.') + 1) : '';
  return names.map((n, i) => (i === 0 || n.includes('.') ? n : parent + n));
}

/** Backticked names of one env/flag cell part; any other text must be a parenthetical remark. */
function namesOf(part: string, shape: RegExp, where: string): string[] {
  const names = [...part.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
  const rest = part.replace(/`[^`]*`/g, '').replace(/\([^)]*\)/g, '').replace(/[,\s]/g, '');
  if (rest !== '') throw new Error(`${where}: unrecognised text "${rest}" in "${part}" (write names in backticks, remarks in parentheses)`);
  for (const n of names) if (!shape.test(n)) throw new Error(`${where}: "${n}" does not look like ${String(shape)}`);
  return names;
}

/** Split a grouped cell to one part per key: as many parts as keys, or an empty cell. */
function perKey(cell: string, count: number, column: string, where: string): string[] {
  if (cell === '') return Array.from({ length: count }, () => '');
  if (count === 1) return [cell];
  const parts = splitGroup(cell);
  if (parts.length !== count) throw new Error(`${where}: ${count} keys but ${parts.length} ${column} values in "${cell}" (separate them with " / ")`);
  return parts;
}

export function parseReadmeTable(readme: string): ReadmeKey[] {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => HEADER.test(l));
  if (start < 0) throw new Error('README: configuration table header "| key (file) | env | flag | default | meaning |" not found');
  const out: ReadmeKey[] = [];
  for (let i = start + 2; i < lines.length && (lines[i] as string).startsWith('|'); i++) {
    const where = `README.md:${i + 1}`;
    const row = cells(lines[i] as string);
    if (row.length !== 5) throw new Error(`${where}: ${row.length} cells, want 5`);
    const [keyCell, envCell, flagCell, defaultCell] = row as [string, string, string, string, string];
    const keys = keysOf(keyCell, where);
    const envs = perKey(envCell, keys.length, 'env', where);
    const flags = perKey(flagCell, keys.length, 'flag', where);
    const defaults = perKey(defaultCell, keys.length, 'default', where);
    keys.forEach((key, k) => {
      out.push({
        key,
        env: namesOf(envs[k] as string, /^[A-Z][A-Z0-9_]*$/, where),
        flags: namesOf(flags[k] as string, /^--[a-z][a-z0-9-]*$/, where).map((f) => f.slice(2)),
        defaultText: defaults[k] as string,
        line: i + 1,
      });
    });
  }
  return out;
}
