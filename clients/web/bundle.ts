// Bundles for browsers with esbuild, in memory (ES2022 modules, no Node APIs): the demo page's
// script (clients/web/src/app.ts with the SDK and the protocol codec), used by serve.ts, and the
// SDK alone (src/index.ts) as a library, written by build-web.ts.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('./src/', import.meta.url));

export interface WebAssets {
  'index.html': string;
  'app.js': string;
  /** The SDK as a library, for pages of your own. */
  'vlp-browser.js': string;
}

export async function bundleWebAssets(opts: { minify?: boolean } = {}): Promise<WebAssets> {
  const [html, app, sdk] = await Promise.all([readFile(`${SRC}index.html`, 'utf8'), bundle('app.ts', opts.minify ?? true), bundleBrowserSdk()]);
  return { 'index.html': html, 'app.js': app, 'vlp-browser.js': sdk };
}

/** The SDK as one ES module for apps (`import { VlpBrowserClient } from './vlp-browser.js'`). */
export function bundleBrowserSdk(opts: { minify?: boolean } = {}): Promise<string> {
  return bundle('index.ts', opts.minify ?? false);
}

async function bundle(entry: string, minify: boolean): Promise<string> {
  const out = await build({
    entryPoints: [`${SRC}${entry}`],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = out.outputFiles[0];
  if (!js) throw new Error('esbuild produced no output');
  return js.text;
}
