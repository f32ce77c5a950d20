// How a benchmark starts the gateway. By default the production build (`npm run build`: tsc with
// tsconfig.build.json plus the run-time assets), compiled once per benchmark run into a private
// directory and started with plain `node`, as `npm run start:dist` does in production; `tsx`
// starts the sources as `npm start` does (its loader adds ≈ 12 MB of heap and a slower boot).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type GatewayBuild = 'dist' | 'tsx';

export interface GatewayEntry {
  build: GatewayBuild;
  /** Arguments for `node` after any V8 flags. */
  argv: string[];
  /** How the report names it. */
  label: string;
  /** Removes the private build (no-op for tsx). */
  dispose(): void;
}

export function parseGatewayBuild(value: string | undefined): GatewayBuild {
  if (value === undefined || value === 'dist') return 'dist';
  if (value === 'tsx') return 'tsx';
  throw new Error(`--gateway must be dist or tsx, got ${JSON.stringify(value)}`);
}

/** Compiles the production build into `outDir` (inside the repository, so the compiled code
 *  resolves node_modules as dist/ does). Throws with tsc's output when it fails. test/dist-build
 *  starts and checks what this builds. */
function buildProduction(outDir: string): void {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: ROOT, stdio: 'pipe' });
  execFileSync(process.execPath, ['scripts/build-assets.mjs', outDir], { cwd: ROOT, stdio: 'pipe' });
}

export function prepareGateway(build: GatewayBuild): GatewayEntry {
  switch (build) {
    case 'tsx':
      return { build, argv: ['--import', 'tsx', 'src/main.ts'], label: '`tsx src/main.ts`, as `npm start`', dispose: () => undefined };
    case 'dist': {
      const outDir = join(ROOT, '.tmp', `bench-dist-${process.pid}`);
      buildProduction(outDir);
      const dispose = (): void => rmSync(outDir, { recursive: true, force: true });
      process.once('exit', dispose);
      return { build, argv: [join(outDir, 'src', 'main.js')], label: 'the production build, `node dist/src/main.js` as `npm run start:dist`', dispose };
    }
  }
}

/** V8's garbage collector in the gateway. `latency` = `--single-threaded-gc` (all GC work on the
 *  main thread: on one CPU, helper threads only preempt the event loop) and
 *  `--max-semi-space-size=4` (young-generation collections four times as often as with the 16 MB
 *  default, each about a third as long), as `npm run start:dist:1cpu` starts it and the README's
 *  Placement section advises for a gateway on one dedicated core; `default` = V8's defaults. */
export type GatewayGc = 'latency' | 'default';

/** `auto` (the default) picks `latency` when the gateway is pinned to one core, else `default`. */
export function parseGatewayGc(value: string | undefined, pinnedToOneCore: boolean): GatewayGc {
  if (value === undefined || value === 'auto') return pinnedToOneCore ? 'latency' : 'default';
  if (value === 'latency' || value === 'default') return value;
  throw new Error(`--gateway-gc must be auto, latency or default, got ${JSON.stringify(value)}`);
}

/** Node flags for the choice (the same as `npm run start:dist:1cpu`). */
export function gcFlags(gc: GatewayGc): string[] {
  return gc === 'latency' ? ['--single-threaded-gc', '--max-semi-space-size=4'] : [];
}

export function gcLabel(gc: GatewayGc): string {
  return gc === 'latency'
    ? 'one-CPU latency profile (`--single-threaded-gc --max-semi-space-size=4`, as `npm run start:dist:1cpu`)'
    : "V8's defaults (concurrent GC helper threads, 16 MB semi-space)";
}
