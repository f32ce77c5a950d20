// `npm run build`, second step: copies the files that tsc does not emit but the compiled code reads
// at run time (relative to its own module) into the output directory.
//   node scripts/build-assets.mjs [outDir]   (default: dist)
import { cpSync } from 'node:fs';
import console from 'node:console';
import process from 'node:process';
import { join } from 'node:path';

const ASSETS = [
  // The simulated recognizer's registered clips (sim/asr/clip-book.ts reads it next to itself).
  'sim/asr/clips.json',
];

const outDir = process.argv[2] ?? 'dist';
for (const file of ASSETS) cpSync(file, join(outDir, file));
console.log(`build: copied ${ASSETS.length} asset(s) into ${outDir}/`);
