/** Shared arrange/act for the stack tests: detect a stack and check it is valid StackFacts. */
import { fileURLToPath } from 'node:url';
import { StackFacts } from '../../../../src/repo/schema.js';
import { detectStack } from '../../../../src/repo/stacks/registry.js';
import type { RepoTree } from '../../../../src/repo/tree.js';
import { walkTree } from '../../../../src/repo/tree.js';
import type { FileMap } from '../../../support/temp-repo.js';
import { tempRepo } from '../../../support/temp-repo.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/repos/stacks/', import.meta.url));

export function fixtureTree(name: string): RepoTree {
  return walkTree(`${FIXTURES}${name}`);
}

/** Runs detectStack and asserts the result already is what StackFacts.parse would make of it. */
export function detectValid(tree: RepoTree, dir = '.'): StackFacts {
  const facts = detectStack(tree, dir);
  expect(StackFacts.parse(facts)).toEqual(facts);
  return facts;
}

export function stackOf(files: FileMap, dir = '.'): StackFacts {
  return detectValid(walkTree(tempRepo(files)), dir);
}
