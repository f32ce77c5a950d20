// Public surface of the Grounded-SAM adapters (the composition root imports from here): the HTTP
// service and the same container behind a SageMaker endpoint.
export { createGroundedSamBackend } from './backend.ts';
export type { GroundedSamBackendOptions } from './backend.ts';
export { createSageMakerSegmenter } from './sagemaker.ts';
export type { SageMakerSegmenterOptions } from './sagemaker.ts';
export { textPrompt, MAX_INSTANCES } from './request.ts';
