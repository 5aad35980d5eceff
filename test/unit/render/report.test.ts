import { FinalPlan } from '../../../src/agents/schema.js';
import { renderReport, type ReportService } from '../../../src/render/report.js';
import { draft } from '../../support/plan-fixtures.js';

function finalPlan(): FinalPlan {
  return FinalPlan.parse({
    ...draft(),
    policy: [],
    validation: { ok: true, errors: [] },
    cost: {
      currency: 'USD',
      monthly: 12.5,
      monthlyAtMax: 25,
      pricePerVcpuHour: 0.03,
      pricePerGibHour: 0.004,
    },
    trace: [],
  });
}

function whatToCheck(report: string): string[] {
  const section = report.split('**What to check**')[1]!.split('\n\n')[1]!;
  return section.split('\n').filter((l) => l.startsWith('- [ ] '));
}

function report(service: Partial<ReportService>): string {
  return renderReport({
    source: 'examples/shop',
    reasoner: 'offline',
    services: [{ plan: finalPlan(), artifacts: [], ...service }],
    warnings: [],
    knowledgeLinks: new Map(),
  });
}

describe('render/report', () => {
  it("puts rendering's findings for a service in its What to check list, first", () => {
    const notes = [
      'svc: the image is a placeholder (svc:latest); set the image your CI pushes before applying.',
      'svc: port 80 is below 1024; …',
    ];
    const checks = whatToCheck(report({ renderNotes: notes }));
    expect(checks.slice(0, 2)).toEqual(notes.map((n) => `- [ ] ${n}`));
    // The placeholder is already named; the generic image reminder would repeat it.
    expect(checks.filter((c) => c.includes('image'))).toHaveLength(1);
  });

  it('asks to confirm the image when rendering found nothing to fix', () => {
    const checks = whatToCheck(report({}));
    expect(checks).toContain('- [ ] Check that the image reference is the one your CI pushes.');
  });

  it('shows what a model reasoner cost, per service, and names its fallbacks', () => {
    const totals = (calls: number, usd: number) => ({
      calls,
      inputTokens: 1000 * calls,
      outputTokens: 300 * calls,
      cacheReadTokens: 4000 * calls,
      cacheWriteTokens: 0,
      estimatedUsd: usd,
    });
    const text = renderReport({
      source: 'examples/shop',
      reasoner: 'claude',
      services: [{ plan: finalPlan(), artifacts: [] }],
      warnings: [],
      knowledgeLinks: new Map(),
      llm: {
        ...totals(4, 0.0123),
        models: { fast: 'claude-haiku-4-5', deep: 'claude-sonnet-4-6' },
        prompts: { prediction: 'abcdef012345' },
        byService: { svc: totals(4, 0.0123) },
        fallbacks: [{ service: 'svc', agent: 'prediction', reason: 'timed out after 60 s' }],
        pricesKnown: true,
      },
    });
    expect(text).toContain('## Model usage');
    expect(text).toContain('| svc | 4 | 4000 | 16000 | 0 | 1200 | $0.01 |');
    expect(text).toContain('prediction `abcdef012345`');
    expect(text).toContain(
      'svc: the offline reasoner answered the prediction step (timed out after 60 s)',
    );
    expect(text).not.toContain('not in the price table');
  });
});
