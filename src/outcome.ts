/**
 * Expected failures are values, bugs are exceptions. Every stage that can fail because of what a
 * user sent or what a repository holds returns one of these instead of throwing.
 */

/** Every code a user can be shown. Each has a section in docs/errors.md with the same anchor. */
export const ERROR_CODES = [
  'request-malformed',
  'request-missing-field',
  'request-unknown-field',
  'request-invalid-field',
  'repo-url-rejected',
  'repo-unreachable',
  'repo-ref-not-found',
  'repo-too-large',
  'repo-too-many-files',
  'repo-clone-timeout',
  'repo-path-not-found',
  'repo-no-services',
  'config-invalid',
  'permission-denied',
  'repo-not-allowed',
  'repo-not-readable',
  'job-locked',
  'approval-required',
  'approval-rejected',
  'proxmox-dry-run-failed',
  'proxmox-create-failed',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Where the user can read more about a code. */
export function docsAnchor(code: ErrorCode): string {
  return `docs/errors.md#${code}`;
}

export interface Done<T> {
  kind: 'done';
  value: T;
}

/** The user asked for something we will not do as asked; the message says what to change. */
export interface Refused {
  kind: 'refused';
  code: ErrorCode;
  userMessage: string;
  /** A corrected example the user can copy. */
  example?: string;
}

/** Something went wrong on our side or on the way; `retryable` tells the queue what to do. */
export interface Failed {
  kind: 'failed';
  code: ErrorCode;
  userMessage: string;
  retryable: boolean;
}

export type Outcome<T> = Done<T> | Refused | Failed;

export function done<T>(value: T): Done<T> {
  return { kind: 'done', value };
}

export function refused(code: ErrorCode, userMessage: string, example?: string): Refused {
  return example === undefined
    ? { kind: 'refused', code, userMessage }
    : { kind: 'refused', code, userMessage, example };
}

export function failed(code: ErrorCode, userMessage: string, retryable: boolean): Failed {
  return { kind: 'failed', code, userMessage, retryable };
}

/** The message of something thrown (an Error's message, anything else as a string), for logs and replies. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
