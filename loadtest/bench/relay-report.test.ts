// The relay report renders the same from its own JSON as from the run (reports are re-rendered
// when their wording changes), including which side-by-side repetition is the median.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { renderRelayReport } from './relay-report.ts';

type Args = Parameters<typeof renderRelayReport>;

describe('relay report', () => {
  it('re-renders identically from its JSON and marks one median repetition per transport', () => {
    const saved = JSON.parse(readFileSync(new URL('../reports/relay-2026-12-07-pinned.json', import.meta.url), 'utf8')) as { meta: Args[0]; reports: Args[1] };
    const first = renderRelayReport(saved.meta, saved.reports);
    const again = JSON.parse(first.json) as { meta: Args[0]; reports: Args[1] };
    expect(renderRelayReport(again.meta, again.reports).md).toBe(first.md);
    const marked = first.md.split('\n').filter((l) => /^\| (ws|uws) \| \d+ \(median\) \|/.test(l));
    expect(marked.map((l) => l.split(' | ')[0])).toEqual(['| ws', '| uws']);
    expect(first.md).toMatch(/The gateway has its core to itself/);
  });
});
