// Public surface of the TGI native-API adapter (the composition root imports from here).
export { createTgiBackend } from './backend.ts';
export type { TgiBackendOptions } from './backend.ts';
export { checkTgiHealth, fetchTgiInfo } from './info.ts';
export type { TgiInfo } from './info.ts';
