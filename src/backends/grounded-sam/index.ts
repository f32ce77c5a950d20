// Public surface of the Grounded-SAM adapter (the composition root imports from here).
export { createGroundedSamBackend } from './backend.ts';
export type { GroundedSamBackendOptions } from './backend.ts';
export { textPrompt, MAX_INSTANCES } from './request.ts';
