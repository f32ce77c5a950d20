// Public surface of chain-of-thought planning (the session imports from here).
export { planSteps, planStepMessage, formatPlan, withPlan, DEFAULT_PLAN_PARAMS, PLAN_PROMPT } from './planner.ts';
export type { PlanOptions, PlanResult, PlanStream, PlanStep } from './planner.ts';
export { MAX_PLAN_STEPS } from './step-parser.ts';
export { TextGenChatModel } from './langchain-llm.ts';
export type { TextGenChatModelFields, TextGenChatModelCallOptions } from './langchain-llm.ts';
