/**
 * agents/ — the three sequential agents (context → prediction → refinement) and the sizing policy.
 * Pure: takes a Reasoner, a Retriever and the resolved repository config as arguments; imports no
 * SDK and does no I/O of its own.
 */
export {
  buildContext,
  hintsFor,
  appMetadataFor,
  profileWarnings,
  defaultQueries,
} from './context.js';
export type { ContextInput, ContextDeps } from './context.js';
export { predictPlan } from './prediction.js';
export { refinePlan, MAX_CYCLES } from './refinement.js';
export type { RefinementDeps } from './refinement.js';
export * from './schema.js';
