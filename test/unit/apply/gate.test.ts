import { applyGate, type ApplyGate } from '../../../src/apply/gate.js';
import type { ApprovalRecord } from '../../../src/store/store.js';

function decision(
  decision: ApprovalRecord['decision'],
  by: string,
  at: string,
  reason?: string,
): ApprovalRecord {
  return {
    jobId: 'job-0123456789ab',
    decision,
    by,
    at,
    ...(reason === undefined ? {} : { reason }),
  };
}

const T1 = '2025-03-01T10:00:00.000Z';
const T2 = '2025-03-01T11:00:00.000Z';

describe('apply/gate', () => {
  it.each<[string, ApprovalRecord[], Pick<ApplyGate, 'kind'> & Record<string, unknown>]>([
    ['no decision', [], { kind: 'refused', code: 'approval-required' }],
    ['one approval', [decision('approve', 'mona', T1)], { kind: 'allowed', by: 'mona', at: T1 }],
    [
      'one rejection',
      [decision('reject', 'hubot', T1)],
      { kind: 'refused', code: 'approval-rejected' },
    ],
    [
      'an approval after a rejection',
      [decision('reject', 'hubot', T1), decision('approve', 'mona', T2)],
      { kind: 'allowed', by: 'mona', at: T2 },
    ],
    [
      'a rejection after an approval',
      [decision('approve', 'mona', T1), decision('reject', 'hubot', T2)],
      { kind: 'refused', code: 'approval-rejected' },
    ],
    [
      'a later approval recorded first',
      [decision('approve', 'mona', T2), decision('reject', 'hubot', T1)],
      { kind: 'allowed', by: 'mona', at: T2 },
    ],
    [
      'two decisions at the same time (the later record wins)',
      [decision('approve', 'mona', T1), decision('reject', 'hubot', T1)],
      { kind: 'refused', code: 'approval-rejected' },
    ],
    [
      'an unreadable time before a readable one',
      [decision('approve', 'mona', T1), decision('reject', 'hubot', 'yesterday')],
      { kind: 'allowed', by: 'mona', at: T1 },
    ],
  ])('decides on %s', (_label, approvals, expected) => {
    const gate = applyGate(approvals);

    expect(gate).toMatchObject(expected);
  });

  it('tells how to approve when nobody has decided', () => {
    const gate = applyGate([]);

    expect(gate.kind === 'refused' && gate.userMessage).toContain('`/ai-provision approve`');
  });

  it('names who rejected, when and why, and how to approve after all', () => {
    const approvals = [decision('reject', 'hubot', T2, 'too\nbig for `pve1`')];

    const gate = applyGate(approvals);

    expect(gate.kind).toBe('refused');
    const message = gate.kind === 'refused' ? gate.userMessage : '';
    expect(message).toContain('`@hubot` rejected this sizing at 2025-03-01 11:00:00 UTC');
    expect(message).toContain("(reason: `too big for 'pve1'`)");
    expect(message).toContain('`/ai-provision approve`');
  });

  it('leaves the reason out when none was given', () => {
    const gate = applyGate([decision('reject', 'hubot', T2)]);

    expect(gate.kind === 'refused' && gate.userMessage).toContain(
      'at 2025-03-01 11:00:00 UTC, so nothing is created',
    );
  });
});
