// parseGatewayBuild and the tsx entry; the dist entry is built, started and disposed in
// test/dist-build.test.ts.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gcFlags, gcLabel, parseGatewayBuild, parseGatewayGc, prepareGateway } from './gateway-build.ts';

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

  it('GC: auto is the one-CPU latency profile only when the gateway is pinned to one core', () => {
    expect(parseGatewayGc(undefined, true)).toBe('latency');
    expect(parseGatewayGc('auto', true)).toBe('latency');
    expect(parseGatewayGc('auto', false)).toBe('default');
    expect(parseGatewayGc('default', true)).toBe('default');
    expect(parseGatewayGc('latency', false)).toBe('latency');
    expect(() => parseGatewayGc('single', true)).toThrow(/--gateway-gc must be auto, latency or default, got "single"/);
    expect(gcFlags('latency')).toEqual(['--single-threaded-gc', '--max-semi-space-size=4']);
    expect(gcFlags('default')).toEqual([]);
    expect(gcLabel('latency')).toMatch(/--single-threaded-gc --max-semi-space-size=4/);
  });

  it('the latency profile is exactly what npm run start:dist:1cpu starts', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['start:dist:1cpu']).toBe(`node ${gcFlags('latency').join(' ')} dist/src/main.js`);
  });
});
