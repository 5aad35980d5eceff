/**
 * Agent 2, Prediction & Initial Plan: asks the reasoner for a draft per service and holds it to
 * the DraftPlan schema. A reasoner answer for the wrong service, or an invalid one, is a bug in
 * the reasoner adapter (the Claude adapter repairs or falls back before it gets here).
 */
import type { Reasoner } from '../reasoners/reasoner.js';
import { DraftPlan, type ContextBundle } from './schema.js';

export async function predictPlan(bundle: ContextBundle, reasoner: Reasoner): Promise<DraftPlan> {
  const draft = DraftPlan.parse(await reasoner.predict(bundle));
  if (draft.service.name !== bundle.service.name || draft.service.path !== bundle.service.path) {
    throw new Error(
      `reasoner ${reasoner.id} answered for ${draft.service.name} (${draft.service.path}) instead of ${bundle.service.name} (${bundle.service.path})`,
    );
  }
  return draft;
}
