/**
 * The markdown report: per service, every number with its reason and source, the confidence, the
 * monthly cost, policy findings, warnings and what a reviewer should check. Pure.
 */
import type { FinalPlan } from '../agents/schema.js';
import type { LlmTotals, LlmUsage } from './plan-document.js';

export interface ReportService {
  plan: FinalPlan;
  /** Manifests or patches to show, already as text (YAML or a diff). */
  artifacts: {
    path: string;
    kind: 'new' | 'patch';
    language: 'yaml' | 'diff' | 'hcl';
    content: string;
  }[];
  /** What rendering found for a person to fix (placeholder image, privileged port, …). */
  renderNotes?: string[];
}

export interface ReportInput {
  source: string;
  commit?: string;
  reasoner: string;
  services: ReportService[];
  warnings: string[];
  /** Calls, tokens and cost of a model reasoner, when one ran. */
  llm?: LlmUsage;
  /** Knowledge entry id → first source URL, to link `knowledge:<id>` sources. */
  knowledgeLinks: ReadonlyMap<string, string>;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function sourceLinks(sources: readonly string[], links: ReadonlyMap<string, string>): string {
  if (sources.length === 0) return '—';
  return [...new Set(sources)]
    .map((s) => {
      if (s.startsWith('knowledge:')) {
        const id = s.slice('knowledge:'.length);
        const url = links.get(id);
        return url === undefined ? `\`${id}\`` : `[${id}](${url})`;
      }
      if (s.startsWith('repo:')) return `\`${s.slice('repo:'.length)}\``;
      return s;
    })
    .join(', ');
}

function checklist(plan: FinalPlan, renderNotes: readonly string[]): string[] {
  // Rendering's own findings come first: each names something to change before applying.
  const checks: string[] = [...renderNotes];
  if (plan.confidence < 0.5)
    checks.push('Confidence is low: compare with what the service uses today before merging.');
  if (
    !plan.reasoning.some((s) => s.sources.includes('description') || s.reason.includes('req/s'))
  ) {
    checks.push('No load figure was given: the replica count follows the availability tier only.');
  }
  if (plan.resources.cpuLimit === undefined)
    checks.push('No CPU limit is set on purpose; confirm your cluster policy allows that.');
  if (plan.workload === 'StatefulSet')
    checks.push('Stateful: check the storage class and backup of the volume.');
  if (!renderNotes.some((n) => n.includes('placeholder')))
    checks.push('Check that the image reference is the one your CI pushes.');
  return checks;
}

const usd = (x: number): string => `$${x < 0.01 && x > 0 ? x.toFixed(4) : x.toFixed(2)}`;

/** The model's calls, tokens and cost, per service; fallbacks to the offline reasoner are named. */
function llmSection(llm: LlmUsage): string[] {
  const out = [
    '## Model usage',
    '',
    `Models: ${llm.models.deep} (prediction), ${llm.models.fast} (context, refinement). ` +
      `Prompts: ${Object.entries(llm.prompts)
        .map(([name, hash]) => `${name} \`${hash}\``)
        .join(', ')}.`,
    '',
    '| service | calls | input tokens (uncached) | cached tokens read | cache writes | output tokens | estimated cost |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  const row = (name: string, t: LlmTotals): string =>
    `| ${cell(name)} | ${t.calls} | ${t.inputTokens} | ${t.cacheReadTokens} | ${t.cacheWriteTokens} | ${t.outputTokens} | ${usd(t.estimatedUsd)} |`;
  for (const [name, totals] of Object.entries(llm.byService)) out.push(row(name, totals));
  out.push(row('**total**', llm), '');
  if (!llm.pricesKnown)
    out.push('A model is not in the price table; its cost assumes Sonnet prices.', '');
  for (const f of llm.fallbacks)
    out.push(`- ⚠️ ${f.service}: the offline reasoner answered the ${f.agent} step (${f.reason}).`);
  if (llm.fallbacks.length > 0) out.push('');
  return out;
}

export function renderReport(input: ReportInput): string {
  const out: string[] = [];
  const commit = input.commit === undefined ? '' : ` at \`${input.commit.slice(0, 12)}\``;
  out.push(`# ai-provision plan for ${input.source}${commit}`, '');
  out.push(`Reasoner: ${input.reasoner}. Services: ${input.services.length}.`, '');
  if (input.llm !== undefined) out.push(...llmSection(input.llm));
  if (input.warnings.length > 0) {
    out.push('## Warnings', '', ...input.warnings.map((w) => `- ${w}`), '');
  }
  out.push(
    '| service | path | replicas | CPU request / limit | memory request / limit | confidence | monthly cost |',
  );
  out.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const { plan } of input.services) {
    const cpu = plan.reasoning.find((s) => s.field === 'cpu.request')?.value ?? '?';
    const cpuLimit = plan.reasoning.find((s) => s.field === 'cpu.limit')?.value ?? '?';
    const mem = plan.reasoning.find((s) => s.field === 'memory.request')?.value ?? '?';
    const memLimit = plan.reasoning.find((s) => s.field === 'memory.limit')?.value ?? '?';
    const replicas =
      plan.autoscaling === undefined
        ? String(plan.replicas)
        : `${plan.autoscaling.minReplicas}–${plan.autoscaling.maxReplicas}`;
    out.push(
      `| ${cell(plan.service.name)} | \`${cell(plan.service.path)}\` | ${replicas} | ${cpu} / ${cpuLimit} | ${mem} / ${memLimit} | ${plan.confidence.toFixed(2)} | $${plan.cost.monthly.toFixed(2)} |`,
    );
  }
  out.push('');

  for (const { plan, artifacts, renderNotes = [] } of input.services) {
    out.push(`## ${plan.service.name} (\`${plan.service.path}\`)`, '');
    out.push(
      `${plan.workload}, target ${plan.target}, confidence ${plan.confidence.toFixed(2)}, about $${plan.cost.monthly.toFixed(2)} a month` +
        (plan.cost.monthlyAtMax > plan.cost.monthly
          ? ` ($${plan.cost.monthlyAtMax.toFixed(2)} at the autoscaler's maximum)`
          : '') +
        '.',
      '',
    );
    out.push('| field | value | reason | source |', '| --- | --- | --- | --- |');
    for (const step of plan.reasoning) {
      out.push(
        `| ${step.field} | ${cell(step.value)} | ${cell(step.reason)} | ${sourceLinks(step.sources, input.knowledgeLinks)} |`,
      );
    }
    out.push('');
    const bounds = plan.resources;
    out.push(
      `Bounds (VPA-style lower / target / upper): CPU ${bounds.cpuRequest.lower}m / ${bounds.cpuRequest.target}m / ${bounds.cpuRequest.upper}m; ` +
        `memory ${Math.round(bounds.memoryRequest.lower / 2 ** 20)}Mi / ${Math.round(bounds.memoryRequest.target / 2 ** 20)}Mi / ${Math.round(bounds.memoryRequest.upper / 2 ** 20)}Mi.`,
      '',
    );
    if (plan.policy.length > 0) {
      out.push(
        '**Policy**',
        '',
        ...plan.policy.map((f) => `- ${f.severity === 'error' ? '⛔' : '⚠️'} ${f.message}`),
        '',
      );
    }
    if (!plan.validation.ok)
      out.push('**Validation errors**', '', ...plan.validation.errors.map((e) => `- ${e}`), '');
    if (plan.warnings.length > 0)
      out.push('**Warnings**', '', ...plan.warnings.map((w) => `- ${w}`), '');
    out.push('**What to check**', '', ...checklist(plan, renderNotes).map((c) => `- [ ] ${c}`), '');
    if (plan.trace.length > 0) {
      out.push('<details><summary>Refinement trace</summary>', '');
      for (const t of plan.trace) {
        out.push(
          `- cycle ${t.cycle}: ${t.thought}${t.tool === undefined ? '' : ` → \`${t.tool}\``}${t.observation === undefined ? '' : `: ${cell(t.observation)}`}`,
        );
      }
      out.push('', '</details>', '');
    }
    for (const artifact of artifacts) {
      out.push(`### ${artifact.kind === 'patch' ? 'Patch' : 'New file'}: \`${artifact.path}\``, '');
      out.push(`\`\`\`${artifact.language}`, artifact.content.trimEnd(), '```', '');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}
