// Public surface of the Hugging Face inference adapter (zero-shot-classification endpoints).
export { createHfZeroShotClient, parseZeroShotResponse } from './zero-shot.ts';
export type { HfZeroShotClient, HfZeroShotOptions, ZeroShotCall, ZeroShotScore } from './zero-shot.ts';
