import { describe, expect, it } from 'vitest';
import type { EventIntent } from '../decision/types.js';
import { eventFilter } from './webhook.js';

const intent = (reason: EventIntent['reason'], type: EventIntent['type']): EventIntent => ({
  reason,
  type,
  note: 'n',
  action: 'Create',
  regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ml', name: 'd' },
});

describe('serve --events', () => {
  const all = [
    intent('ModelVerified', 'Normal'),
    intent('ModelRejected', 'Warning'),
    intent('ModelWarning', 'Warning'),
  ];

  it('all: every decision with an Event intent is recorded, ModelVerified too', () => {
    const got: string[] = [];
    const record = eventFilter({ record: (i) => (got.push(i.reason), 'queued') }, 'all');
    all.forEach(record);
    expect(got).toEqual(['ModelVerified', 'ModelRejected', 'ModelWarning']);
  });

  it('warnings: allowed decisions (ModelVerified, type Normal) are left to the audit log', () => {
    const got: string[] = [];
    const record = eventFilter({ record: (i) => (got.push(i.reason), 'queued') }, 'warnings');
    all.forEach(record);
    expect(got).toEqual(['ModelRejected', 'ModelWarning']);
  });
});
