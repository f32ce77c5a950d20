// Keeps protocol/ERRORS.md in sync with the catalog in errors.ts, and checks the catalog's own rules.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderErrorsMd } from './errors-md.ts';
import { CloseCode, ERRORS, ERROR_CODES, type ErrorSpec } from './errors.ts';

describe('error catalog', () => {
  it('ERRORS.md matches errors.ts', () => {
    const onDisk = readFileSync(fileURLToPath(new URL('./ERRORS.md', import.meta.url)), 'utf8');
    expect(onDisk, 'protocol/ERRORS.md is out of date: run `npx tsx scripts/gen-errors-md.ts`').toBe(renderErrorsMd());
  });

  it('uses UPPER_SNAKE codes and only known close codes', () => {
    const closes = new Set<number>(Object.values(CloseCode));
    for (const code of ERROR_CODES) {
      expect(code).toMatch(/^[A-Z]+(_[A-Z0-9]+)+$/);
      const close = (ERRORS[code] as ErrorSpec).close;
      if (close !== undefined) expect(closes.has(close), code).toBe(true);
    }
  });

  it('closes the connection exactly for the codes SPEC.md lists as fatal', () => {
    const fatal = Object.fromEntries(
      ERROR_CODES.filter((c) => (ERRORS[c] as ErrorSpec).close !== undefined).map((c) => [c, (ERRORS[c] as ErrorSpec).close]),
    );
    expect(fatal).toEqual({
      PROTO_FRAME_TOO_LARGE: 1009,
      SESSION_RESUME_FAILED: 4001,
      SESSION_SLOW_CONSUMER: 4008,
      SESSION_IDLE_TIMEOUT: 4002,
      SESSION_EXPIRED: 4003,
      SERVER_SHUTTING_DOWN: 1001,
      SERVER_AT_CAPACITY: 1008,
    });
  });
});
