// convert(): every EnvKind has a case; a kind without one throws instead of returning undefined
// (which setPath would then have written into the config).
import { describe, expect, it } from 'vitest';
import { ConfigError, convert } from './load.ts';
import type { EnvKind } from './load.ts';

describe('convert', () => {
  it('converts every kind', () => {
    expect(convert('VLP_HOST', '0.0.0.0', 'string')).toBe('0.0.0.0');
    expect(convert('PORT', '8080', 'int')).toBe(8080);
    expect(convert('VLP_SIM_JITTER', '0.25', 'number')).toBe(0.25);
    expect(convert('VLP_TGI_URL', ' http://a:80, ,http://b:80 ', 'list')).toEqual(['http://a:80', 'http://b:80']);
    expect(() => convert('PORT', 'eighty', 'int')).toThrow(ConfigError);
  });

  it('throws for a kind without a case rather than returning undefined', () => {
    const unknownKind = 'bool' as unknown as EnvKind;
    expect(() => convert('VLP_FUTURE', 'true', unknownKind)).toThrow(/VLP_FUTURE: unhandled env kind bool/);
  });
});
