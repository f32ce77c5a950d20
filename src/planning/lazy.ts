// LangChain planning is loaded on first use: it adds ~13 MB to the heap (more for every major GC
// to mark) and planning is off unless a session asks for it. A session that turns options.plan on
// starts the load; its first planned turn awaits it.
import type * as PlanningModule from './index.ts';

type Planning = typeof PlanningModule;

let loading: Promise<Planning> | undefined;

export function loadPlanning(): Promise<Planning> {
  return (loading ??= import('./index.ts'));
}
