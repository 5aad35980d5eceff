/**
 * scm/ — the GitHub port. Owns the ScmClient interface (scm.ts) and its one adapter over an Octokit
 * (github.ts). It knows GitHub's REST/GraphQL wire format and nothing about jobs, plans or
 * templates; commands/ and deliver/ take a ScmClient and never import Octokit themselves.
 */
export * from './scm.js';
export * from './github.js';
