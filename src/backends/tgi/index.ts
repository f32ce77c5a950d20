// Public surface of the TGI native-API adapter (the composition root imports from here).
export { createTgiBackend } from './backend.ts';
export type { TgiBackendOptions } from './backend.ts';
export { createTgiGenerateClient } from './generate-once.ts';
export type { TgiGenerateClient, TgiGenerateOptions, TgiGenerateResult } from './generate-once.ts';
export { checkTgiHealth, fetchTgiInfo } from './info.ts';
export type { TgiInfo } from './info.ts';
