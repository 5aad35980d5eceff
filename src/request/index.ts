/**
 * request/: the request standard. Owns turning what a user sent (a comment, later a dispatch
 * payload, a Slack form, CLI flags, an MCP call) into one validated ProvisionRequest or a reply,
 * checking repository addresses, and reading the free-text description into an AppProfile.
 * Pure: no network, no file system beyond the message templates, no clock. It must not fetch
 * repositories, queue work or post replies; those belong to repo/, pool/ and deliver/.
 */
export * from './schema.js';
export {
  FIELD_NAMES,
  REQUEST_MAX_CHARS,
  closestMatch,
  levenshtein,
  parseCommand,
  requestFromFields,
} from './parse-comment.js';
export type {
  Command,
  CorrectedFields,
  FieldName,
  FieldsOptions,
  FieldsResult,
  ParseCommandOptions,
  ParsedCommand,
  Problem,
} from './parse-comment.js';
export {
  codeBlock,
  codeSpanText,
  commentExample,
  didYouMean,
  emptyRequestMessage,
  helpMessage,
  rejectionMessage,
  unknownSubcommandMessage,
  usageMessage,
} from './messages.js';
export { DEFAULT_ALLOWED_HOSTS, blockedHostKind, validateRepoUrl } from './validate-repo-url.js';
export type { RepoLocation, RepoUrlOptions } from './validate-repo-url.js';
export { parseDescription } from './parse-description.js';
export { DISPATCH_EVENT_TYPE, requestFromDispatch } from './from-dispatch.js';
export type { DispatchOptions, DispatchResult } from './from-dispatch.js';
