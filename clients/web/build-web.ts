// `npm run build`, last step: writes the browser SDK (dist/web/vlp-browser.js, one ES module) and
// the demo page (dist/web/index.html + app.js, servable by any static server).
//   tsx clients/web/build-web.ts [outDir]   (default: dist/web)
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleWebAssets } from './bundle.ts';

const outDir = process.argv[2] ?? 'dist/web';
await mkdir(outDir, { recursive: true });
const page = await bundleWebAssets();
const sdk = page['vlp-browser.js'];
await writeFile(join(outDir, 'vlp-browser.js'), sdk);
await writeFile(join(outDir, 'index.html'), page['index.html']);
await writeFile(join(outDir, 'app.js'), page['app.js']);
process.stdout.write(`build: browser SDK and demo page in ${outDir}/ (vlp-browser.js ${sdk.length} bytes)\n`);
