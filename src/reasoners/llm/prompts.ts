/**
 * The Claude reasoner's system prompts: one markdown file per agent in `prompts/`, read at run time
 * (never bundled into code) so they can be reviewed and edited like documentation. Each prompt's
 * hash goes into the report, so a plan says which wording produced it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { done, failed, type Outcome } from '../../outcome.js';

export const PROMPT_AGENTS = ['context', 'prediction', 'refinement'] as const;
export type PromptAgent = (typeof PROMPT_AGENTS)[number];

export interface Prompt {
  agent: PromptAgent;
  text: string;
  /** sha256 of the file's bytes, hex, first 12 characters. */
  hash: string;
  /** Absolute path the prompt was read from. */
  file: string;
}

/** `prompts/` at the package root; this file sits three levels below it in src/ and in dist/. */
export const PROMPTS_DIR: string = fileURLToPath(new URL('../../../prompts/', import.meta.url));

/** Reads `<agent>.md` for every agent. A missing or empty file is a configuration error. */
export function loadPrompts(dir: string = PROMPTS_DIR): Outcome<Record<PromptAgent, Prompt>> {
  const prompts: Partial<Record<PromptAgent, Prompt>> = {};
  for (const agent of PROMPT_AGENTS) {
    const file = join(dir, `${agent}.md`);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      return missing(agent, file, `it cannot be read (${errorCode(error)})`);
    }
    const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
    if (text.trim() === '') return missing(agent, file, 'it is empty');
    prompts[agent] = {
      agent,
      text,
      hash: createHash('sha256').update(bytes).digest('hex').slice(0, 12),
      file,
    };
  }
  return done(prompts as Record<PromptAgent, Prompt>);
}

function missing(agent: PromptAgent, file: string, why: string): Outcome<never> {
  return failed(
    'config-invalid',
    `${file} is missing: ${why}. The Claude reasoner uses it as the ${agent} agent's ` +
      'system prompt. Restore it from the ai-provision repository (`git checkout -- prompts/`) or ' +
      'reinstall the package, or run with `--reasoner offline`, which needs no prompts.',
    false,
  );
}

function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return code ?? String(error);
}
