// Bundles the demo page's script (clients/web/src/app.ts with the SDK and the protocol codec) for
// browsers with esbuild, in memory: ES2022 module, no Node APIs. Used by serve.ts and its test.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('./src/', import.meta.url));

export interface WebAssets {
  'index.html': string;
  'app.js': string;
}

export async function bundleWebAssets(opts: { minify?: boolean } = {}): Promise<WebAssets> {
  const out = await build({
    entryPoints: [`${SRC}app.ts`],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: opts.minify ?? true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = out.outputFiles[0];
  if (!js) throw new Error('esbuild produced no output');
  return { 'index.html': await readFile(`${SRC}index.html`, 'utf8'), 'app.js': js.text };
}
