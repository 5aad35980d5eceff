import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DraftPlan, PLAN_FIELDS, TOOL_NAMES } from '../../../src/agents/schema.js';
import {
  loadPrompts,
  PROMPT_AGENTS,
  PROMPTS_DIR,
  type Prompt,
  type PromptAgent,
} from '../../../src/reasoners/llm/prompts.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const KNOWLEDGE = join(REPO, 'knowledge');

const TOOLS: Record<PromptAgent, string[]> = {
  context: ['decide_context'],
  prediction: ['submit_draft_plan'],
  refinement: [...TOOL_NAMES, 'finish'],
};

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the real prompts/ in a fresh temporary directory. */
function copyOfPrompts(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ai-provision-prompts-'));
  temps.push(dir);
  cpSync(PROMPTS_DIR, dir, { recursive: true });
  return dir;
}

function loaded(dir?: string): Record<PromptAgent, Prompt> {
  const outcome = loadPrompts(dir);
  if (outcome.kind !== 'done') throw new Error(`expected prompts, got ${outcome.kind}`);
  return outcome.value;
}

describe('reasoners/llm/prompts', () => {
  describe('PROMPTS_DIR', () => {
    it("is the repository's prompts/ directory", () => {
      expect(resolve(PROMPTS_DIR)).toBe(resolve(REPO, 'prompts'));
      expect(existsSync(join(PROMPTS_DIR, 'README.md'))).toBe(true);
    });

    it('resolves the same way from the compiled module in dist/', () => {
      // prompts.ts finds prompts/ three levels up; dist/reasoners/llm/ mirrors src/reasoners/llm/.
      const fromDist = resolve(REPO, 'dist/reasoners/llm', '../../../prompts');
      const fromSrc = resolve(REPO, 'src/reasoners/llm', '../../../prompts');

      expect(fromDist).toBe(resolve(PROMPTS_DIR));
      expect(fromSrc).toBe(resolve(PROMPTS_DIR));
    });
  });

  describe('loadPrompts on the real prompts/', () => {
    const prompts = loaded();

    it('loads one prompt per agent, hashed with the first 12 hex digits of sha256', () => {
      expect(Object.keys(prompts).sort()).toEqual([...PROMPT_AGENTS].sort());
      for (const agent of PROMPT_AGENTS) {
        const prompt = prompts[agent];
        const bytes = readFileSync(join(PROMPTS_DIR, `${agent}.md`));

        expect(prompt.agent).toBe(agent);
        expect(prompt.file).toBe(join(PROMPTS_DIR, `${agent}.md`));
        expect(prompt.hash).toMatch(/^[0-9a-f]{12}$/);
        expect(prompt.hash).toBe(createHash('sha256').update(bytes).digest('hex').slice(0, 12));
        expect(prompt.text).toBe(bytes.toString('utf8'));
      }
      expect(new Set(PROMPT_AGENTS.map((a) => prompts[a].hash)).size).toBe(3);
    });

    it.each(PROMPT_AGENTS.map((agent) => [agent]))(
      '%s names its tools, untrusted_data and redaction markers',
      (agent) => {
        const text = prompts[agent].text;

        for (const tool of TOOLS[agent]) expect(text).toContain(`\`${tool}\``);
        expect(text).toContain('<untrusted_data>');
        expect(text).toContain('[REDACTED:<kind>]');
      },
    );

    it.each(PROMPT_AGENTS.map((agent) => [agent]))('%s is 80–200 lines long', (agent) => {
      const lines = prompts[agent].text.split('\n').length;

      expect(lines).toBeGreaterThanOrEqual(80);
      expect(lines).toBeLessThanOrEqual(200);
    });

    it('prediction explains every DraftPlan field and every reasoning field name', () => {
      const text = prompts.prediction.text;
      const resourceKeys = ['cpuRequest', 'cpuLimit', 'memoryRequest', 'memoryLimit'];
      const autoscalingKeys = ['minReplicas', 'maxReplicas', 'targetCpuUtilization'];

      for (const key of Object.keys(DraftPlan.shape)) expect(text).toContain(`\`${key}\``);
      for (const key of [...resourceKeys, ...autoscalingKeys]) {
        expect(text).toMatch(new RegExp(`\\b${key}\\b`));
      }
      for (const field of PLAN_FIELDS) expect(text).toContain(`\`${field}\``);
    });

    it('cites only knowledge entries that exist', () => {
      const cited = new Set<string>();
      for (const agent of PROMPT_AGENTS) {
        for (const match of prompts[agent].text.matchAll(/knowledge:([a-z0-9-]+)/g)) {
          cited.add(match[1]!);
        }
      }

      expect(cited.size).toBeGreaterThanOrEqual(10);
      const missing = [...cited].filter((id) => !existsSync(join(KNOWLEDGE, `${id}.md`)));
      expect(missing).toEqual([]);
    });
  });

  describe('a prompts directory with problems', () => {
    it('fails with config-invalid naming a missing file', () => {
      const dir = copyOfPrompts();
      unlinkSync(join(dir, 'prediction.md'));

      const outcome = loadPrompts(dir);

      expect(outcome).toMatchObject({ kind: 'failed', code: 'config-invalid', retryable: false });
      if (outcome.kind !== 'failed') throw new Error('expected a failure');
      expect(outcome.userMessage).toContain(join(dir, 'prediction.md'));
      expect(outcome.userMessage).toMatch(/is missing: it cannot be read \(no such file\)/);
      expect(outcome.userMessage).toContain('--reasoner offline');
    });

    it('fails with config-invalid for an empty file', () => {
      const dir = copyOfPrompts();
      writeFileSync(join(dir, 'refinement.md'), '  \n\n');

      const outcome = loadPrompts(dir);

      expect(outcome).toMatchObject({ kind: 'failed', code: 'config-invalid', retryable: false });
      if (outcome.kind !== 'failed') throw new Error('expected a failure');
      expect(outcome.userMessage).toContain(
        `${join(dir, 'refinement.md')} is missing: it is empty`,
      );
    });

    it('fails for a directory that does not exist', () => {
      const outcome = loadPrompts(join(tmpdir(), 'ai-provision-no-such-prompts-dir'));

      expect(outcome).toMatchObject({ kind: 'failed', code: 'config-invalid' });
    });
  });

  describe('hashes', () => {
    it('change when a file changes, and only for that file', () => {
      const dir = copyOfPrompts();
      const before = loaded(dir);
      writeFileSync(join(dir, 'context.md'), `${before.context.text}\nOne more line.\n`);

      const after = loaded(dir);

      expect(after.context.hash).not.toBe(before.context.hash);
      expect(after.context.text).toContain('One more line.');
      expect(after.prediction.hash).toBe(before.prediction.hash);
      expect(after.refinement.hash).toBe(before.refinement.hash);
    });

    it('are read at run time: the same directory loaded twice gives the same hashes', () => {
      const dir = copyOfPrompts();

      expect(loaded(dir).prediction.hash).toBe(loaded(dir).prediction.hash);
      expect(loaded(dir).prediction.hash).toBe(loaded().prediction.hash);
    });
  });
});
