/**
 * The JSON Schemas ai-provision publishes, generated from its own zod schemas so they never drift.
 */
import { z } from 'zod';
import { InputStandard } from './agents/schema.js';
import { KnowledgeEntry } from './rag/schema.js';
import { PlanDocument } from './render/plan-document.js';
import { ProvisionRequest } from './request/schema.js';

const SOURCES: ReadonlyMap<string, { schema: z.ZodType; title: string }> = new Map([
  ['input', { schema: InputStandard, title: 'ai-provision input standard (one service)' }],
  ['plan', { schema: PlanDocument, title: 'ai-provision plan --format json' }],
  ['request', { schema: ProvisionRequest, title: 'ai-provision ProvisionRequest' }],
  ['knowledge', { schema: KnowledgeEntry, title: 'ai-provision knowledge entry front matter' }],
]);

export const SCHEMAS: ReadonlyMap<string, () => Record<string, unknown>> = new Map(
  [...SOURCES].map(([name, { schema, title }]) => [
    name,
    () =>
      ({ title, ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) }) as Record<
        string,
        unknown
      >,
  ]),
);

export function schemaNames(): string[] {
  return [...SCHEMAS.keys()];
}
