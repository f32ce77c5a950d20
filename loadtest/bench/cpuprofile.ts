// Top self-time functions of a V8 CPU profile (`node --cpu-prof`, what BENCH_CPU_PROF writes for
// the gateway process). Self time of a node = its samples × the profile's mean sampling interval;
// nodes of the same function (name, script, line) are summed over all their call paths.
//   npx tsx loadtest/bench/cpuprofile.ts <file.cpuprofile> [--top 10]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTimeRow {
  /** `functionName` (or "(anonymous)") with its script and 1-based line. */
  name: string;
  where: string;
  selfMs: number;
  /** Share of all samples (idle included) and of the non-idle ones, %. */
  pctOfAll: number;
  pctOfBusy: number;
}

/** Shortens a script URL to the path inside the repository or node_modules package. */
export function shortUrl(url: string): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const m = /\/(src|sim|protocol|loadtest|clients)\/.*$/.exec(url);
  if (m) return m[0].slice(1);
  return url.replace(/^file:\/\//, '');
}

export function topSelfTime(p: CpuProfile, top = 10): { rows: SelfTimeRow[]; totalMs: number; idleMs: number } {
  const hits = new Map<number, number>();
  if (p.samples && p.samples.length > 0) {
    for (const id of p.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  } else {
    for (const n of p.nodes) hits.set(n.id, n.hitCount ?? 0);
  }
  let totalHits = 0;
  for (const h of hits.values()) totalHits += h;
  const totalMs = (p.endTime - p.startTime) / 1000;
  const msPerHit = totalHits > 0 ? totalMs / totalHits : 0;
  const byFn = new Map<string, { name: string; where: string; hits: number }>();
  let idleHits = 0;
  for (const n of p.nodes) {
    const h = hits.get(n.id) ?? 0;
    if (h === 0) continue;
    const cf = n.callFrame;
    if (cf.functionName === '(idle)') idleHits += h;
    const name = cf.functionName || '(anonymous)';
    // Line 0 is what transpiled (tsx) modules report for every function: left out.
    const where = cf.url ? `${shortUrl(cf.url)}${cf.lineNumber > 0 ? `:${cf.lineNumber + 1}` : ''}` : '';
    const key = `${name}\u0000${where}`;
    const e = byFn.get(key);
    if (e) e.hits += h;
    else byFn.set(key, { name, where, hits: h });
  }
  const busyHits = totalHits - idleHits;
  const rows = [...byFn.values()]
    .filter((e) => e.name !== '(idle)')
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((e) => ({
      name: e.name,
      where: e.where,
      selfMs: Math.round(e.hits * msPerHit * 10) / 10,
      pctOfAll: Math.round((1000 * e.hits) / Math.max(1, totalHits)) / 10,
      pctOfBusy: Math.round((1000 * e.hits) / Math.max(1, busyHits)) / 10,
    }));
  return { rows, totalMs, idleMs: idleHits * msPerHit };
}

export function renderTopSelfTime(t: ReturnType<typeof topSelfTime>): string {
  const lines = [
    `profile ${Math.round(t.totalMs)} ms, idle ${Math.round(t.idleMs)} ms`,
    '| # | function | where | self ms | % of all samples | % of busy samples |',
    '|---|---|---|---|---|---|',
  ];
  t.rows.forEach((r, i) => lines.push(`| ${i + 1} | \`${r.name}\` | ${r.where} | ${r.selfMs} | ${r.pctOfAll} | ${r.pctOfBusy} |`));
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '10' } } });
  for (const file of positionals) {
    console.log(`${file}\n${renderTopSelfTime(topSelfTime(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(values.top)))}\n`);
  }
}
