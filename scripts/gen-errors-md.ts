// Regenerates protocol/ERRORS.md from the error catalog. Run: npx tsx scripts/gen-errors-md.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderErrorsMd } from '../protocol/errors-md.ts';

const target = fileURLToPath(new URL('../protocol/ERRORS.md', import.meta.url));
writeFileSync(target, renderErrorsMd());
process.stdout.write(`wrote ${target}\n`);
