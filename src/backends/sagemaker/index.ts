// Public surface of the SageMaker-runtime adapter (the composition root imports from here).
export { createSageMakerBackend } from './backend.ts';
export type { SageMakerBackendOptions } from './backend.ts';
export type { StaticAwsCredentials } from './client.ts';
