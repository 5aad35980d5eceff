/**
 * The repository_dispatch form of the request standard: a workflow (or any API client) sends
 * `{"event_type": "ai-provision", "client_payload": {…}}` with the same snake_case fields as a
 * comment. The fields go through requestFromFields, so rules and wording match the comment form;
 * a refusal carries a corrected JSON body and the `gh api` / curl command that sends it. Never throws.
 */
import type { ErrorCode } from '../outcome.js';
import { renderTemplate } from '../deliver/templates.js';
import { codeBlock } from './messages.js';
import { FIELD_NAMES, REQUEST_MAX_CHARS, replyCode, requestFromFields } from './parse-comment.js';
import type { CorrectedFields, FieldsOptions, Problem } from './parse-comment.js';
import type { Origin, ProvisionRequest } from './schema.js';

/** The `event_type` a dispatch for ai-provision carries (the webhook's `action`). */
export const DISPATCH_EVENT_TYPE = 'ai-provision';

export type DispatchResult =
  { kind: 'ok'; request: ProvisionRequest } | { kind: 'reply'; code: ErrorCode; message: string };

export interface DispatchOptions {
  origin: Origin;
  allowedHosts?: readonly string[];
}

const REPOSITORY = /^[\w.-]+\/[\w.-]+$/;

/** How a payload that is not an object reads in "not …". */
function describeValue(value: unknown): string {
  if (isRecord(value)) return 'an object I could not read';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'true/false';
  return 'text';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The dispatch body with the corrected fields, in the documented order. */
function requestBody(fields: CorrectedFields): string {
  const payload: Record<string, unknown> = {};
  for (const name of FIELD_NAMES) if (fields[name] !== undefined) payload[name] = fields[name];
  return JSON.stringify({ event_type: DISPATCH_EVENT_TYPE, client_payload: payload }, null, 2);
}

function reply(
  problems: readonly Problem[],
  corrected: CorrectedFields,
  origin: Origin,
): DispatchResult {
  const code = replyCode(problems);
  const repository = origin.repository;
  const message = renderTemplate('dispatch-rejected', {
    problems: problems.map((p) => `- ${p.message}`).join('\n'),
    body: codeBlock(requestBody(corrected), 'json'),
    repo:
      repository !== undefined && REPOSITORY.test(repository)
        ? repository
        : renderTemplate('dispatch-placeholder-repo', {}),
    knownFields: FIELD_NAMES.map((f) => `\`${f}\``).join(', '),
  });
  return { kind: 'reply', code, message };
}

function malformed(message: string): Problem {
  return { field: 'request', code: 'request-malformed', message };
}

/** A JSON object someone sent as a string (`gh api -f client_payload='{…}'`), or undefined. */
function jsonObjectIn(text: string): Record<string, unknown> | undefined {
  if (!text.trim().startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function sizeOf(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    // Not JSON-shaped (a cycle, a bigint): no webhook carries that; treat it as too big to read.
    return Number.POSITIVE_INFINITY;
  }
}

/** Only the two required fields, for an example after a problem that makes the rest unreadable. */
function requiredOnly(fields: Record<string, unknown>): Record<string, unknown> {
  return { git_repo: fields.git_repo, app_description: fields.app_description };
}

/**
 * repository_dispatch `client_payload` (snake_case fields as in a comment: git_repo,
 * app_description, ref, paths, target, environment, namespace) → a request, or a reply naming
 * every problem with a corrected JSON body and the command that sends it. An absent or null
 * payload counts as one with no fields. Never throws.
 */
export function requestFromDispatch(
  clientPayload: unknown,
  options: DispatchOptions,
): DispatchResult {
  const fieldsOptions: FieldsOptions = {
    allowedHosts: options.allowedHosts,
    allowLocalPath: false,
    origin: options.origin,
  };
  const example = (fields: Record<string, unknown>): CorrectedFields => {
    const result = requestFromFields(fields, fieldsOptions);
    return result.kind === 'invalid' ? result.corrected : fieldsOf(result.request);
  };
  try {
    const payload = clientPayload ?? {};
    if (typeof payload === 'string') {
      const inside = jsonObjectIn(payload);
      if (inside !== undefined && sizeOf(inside) <= REQUEST_MAX_CHARS) {
        const problem = malformed(renderTemplate('dispatch-payload-is-string', {}));
        return reply([problem], example(inside), options.origin);
      }
    }
    if (!isRecord(payload)) {
      const problem = malformed(
        renderTemplate('dispatch-not-object', { actual: describeValue(payload) }),
      );
      return reply([problem], example({}), options.origin);
    }
    if (sizeOf(payload) > REQUEST_MAX_CHARS) {
      const problem = malformed(
        renderTemplate('dispatch-too-long', { max: String(REQUEST_MAX_CHARS) }),
      );
      return reply([problem], example(requiredOnly(payload)), options.origin);
    }
    const result = requestFromFields(payload, fieldsOptions);
    if (result.kind === 'ok') return result;
    return reply(result.problems, result.corrected, options.origin);
  } catch {
    // requestFromFields reads plain JSON values only; a payload with throwing getters is no JSON.
    const problem = malformed(
      renderTemplate('dispatch-not-object', { actual: describeValue(clientPayload) }),
    );
    return reply([problem], example({}), options.origin);
  }
}

/** A valid request's fields, for an example when only the payload's shape was wrong. */
function fieldsOf(request: ProvisionRequest): CorrectedFields {
  return {
    git_repo: request.gitRepo,
    app_description: request.appDescription,
    ...(request.ref !== undefined && { ref: request.ref }),
    ...(request.paths !== undefined && { paths: request.paths }),
    // The default needs no line, as in an example built from a payload that left it out.
    ...(request.target !== 'kubernetes' && { target: request.target }),
    ...(request.environment !== undefined && { environment: request.environment }),
    ...(request.namespace !== undefined && { namespace: request.namespace }),
  };
}
