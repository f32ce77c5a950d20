// parseGatewayBuild and the tsx entry; the dist entry is built, started and disposed in
// test/dist-build.test.ts.
import { describe, expect, it } from 'vitest';
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

  it('GC mode: auto is single-threaded only when the gateway is pinned to one core', () => {
    expect(parseGatewayGc(undefined, true)).toBe('single');
    expect(parseGatewayGc('auto', true)).toBe('single');
    expect(parseGatewayGc('auto', false)).toBe('concurrent');
    expect(parseGatewayGc('concurrent', true)).toBe('concurrent');
    expect(parseGatewayGc('single', false)).toBe('single');
    expect(() => parseGatewayGc('parallel', true)).toThrow(/--gateway-gc must be auto, single or concurrent, got "parallel"/);
    expect(gcFlags('single')).toEqual(['--single-threaded-gc']);
    expect(gcFlags('concurrent')).toEqual([]);
    expect(gcLabel('single')).toMatch(/--single-threaded-gc/);
  });
});
