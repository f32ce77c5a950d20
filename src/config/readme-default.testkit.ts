// Whether a README default cell states a config key's real default. The README writes numbers with
// thousands spaces ("30 000") and units ("256 KiB", "1 MiB", "10 s" for a *Ms key), an absent value
// or empty list as "none" (optionally followed by a parenthetical remark on what happens then), and
// booleans and strings as they are. Values of other shapes (objects, non-empty lists) are not
// comparable here: the caller decides about them.

const UNITS: Record<string, number> = { KiB: 1 << 10, MiB: 1 << 20, GiB: 1 << 30, ms: 1, s: 1000 };

/** The number a README cell states, or undefined when it states none. */
export function readmeNumber(text: string, key: string): number | undefined {
  const joined = text.replace(/(\d)[ \u00a0\u202f](?=\d{3}(?!\d))/g, '$1');
  const m = /^(-?\d+(?:\.\d+)?)\s*(KiB|MiB|GiB|ms|s)?$/.exec(joined);
  if (!m) return undefined;
  const unit = m[2];
  if ((unit === 's' || unit === 'ms') && !key.endsWith('Ms')) throw new Error(`${key}: a time unit on a key that is not in ms ("${text}")`);
  return Number(m[1]) * (unit === undefined ? 1 : (UNITS[unit] as number));
}

export type DefaultCheck = { ok: true } | { ok: false; why: string } | { ok: 'uncomparable' };

export function checkDefault(key: string, text: string, actual: unknown): DefaultCheck {
  const none = /^none(\s+\(.*\))?$/s.test(text);
  const fail = (want: string): DefaultCheck => ({ ok: false, why: `README says "${text}", the schema's default is ${want}` });
  if (actual === undefined || (Array.isArray(actual) && actual.length === 0)) {
    return none ? { ok: true } : fail(actual === undefined ? 'none (absent)' : 'none (an empty list)');
  }
  if (none) return fail(JSON.stringify(actual));
  switch (typeof actual) {
    case 'number':
      return readmeNumber(text, key) === actual ? { ok: true } : fail(String(actual));
    case 'boolean':
      return text === String(actual) ? { ok: true } : fail(String(actual));
    case 'string':
      return text.replace(/^`(.*)`$/, '$1') === actual ? { ok: true } : fail(JSON.stringify(actual));
    default:
      return { ok: 'uncomparable' };
  }
}
