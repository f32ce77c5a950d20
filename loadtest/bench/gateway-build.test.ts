import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { parseGatewayBuild, prepareGateway } from './gateway-build.ts';

describe('gateway-build', () => {
  it('defaults to the production build and accepts only dist or tsx', () => {
    expect(parseGatewayBuild(undefined)).toBe('dist');
    expect(parseGatewayBuild('dist')).toBe('dist');
    expect(parseGatewayBuild('tsx')).toBe('tsx');
    expect(() => parseGatewayBuild('ts-node')).toThrow(/--gateway must be dist or tsx, got "ts-node"/);
  });

  it('tsx runs the sources as npm start does', () => {
    const e = prepareGateway('tsx');
    expect(e.argv).toEqual(['--import', 'tsx', 'src/main.ts']);
    expect(e.label).toMatch(/npm start/);
  });

  it('dist compiles a private production build with its assets, and dispose removes it', () => {
    const e = prepareGateway('dist');
    try {
      const main = e.argv[0] ?? '';
      expect(e.argv).toHaveLength(1);
      expect(main).toMatch(/\.tmp\/bench-dist-\d+\/src\/main\.js$/);
      expect(existsSync(main)).toBe(true);
      expect(existsSync(main.replace(/src\/main\.js$/, 'sim/asr/clips.json'))).toBe(true);
    } finally {
      e.dispose();
    }
    expect(existsSync(e.argv[0] ?? '')).toBe(false);
  }, 120_000);
});
