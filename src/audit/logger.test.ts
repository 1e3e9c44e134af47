import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../decision/types.js';
import { auditLine, createLogger, decisionLogger } from './logger.js';

const record: AuditRecord = {
  uid: 'u-1',
  kind: 'Deployment',
  namespace: 'ml',
  name: 'fraud',
  operation: 'CREATE',
  user: 'alice',
  groups: ['ml-engineers'],
  dryRun: false,
  decision: 'deny',
  mode: 'enforce',
  rule: 'default',
  reasons: [
    {
      code: 'signature-mismatch',
      message: 'no trusted key matches',
      path: 'metadata.annotations[modelgate.dev/manifest]',
      origin: 'annotation modelgate.dev/manifest',
    },
  ],
  models: [{ name: 'fraud-detector.onnx', keyId: 'ci', format: 'v1', sha256: 'ab'.repeat(32) }],
};

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ destination: stream }) };
}

describe('audit log line', () => {
  it('has exactly the DESIGN.md fields, msg "admission", ISO time and a level label', () => {
    const { lines, logger } = capture();
    decisionLogger(logger)(record, 1.23456);
    const line = lines[0]!;
    expect(Object.keys(line).sort()).toEqual(
      [
        'time',
        'level',
        'msg',
        'uid',
        'kind',
        'namespace',
        'name',
        'operation',
        'user',
        'groups',
        'dryRun',
        'decision',
        'mode',
        'rule',
        'reasons',
        'models',
        'durationMs',
      ].sort(),
    );
    expect(line).toMatchObject({
      msg: 'admission',
      level: 'warn',
      decision: 'deny',
      durationMs: 1.235,
      models: record.models,
      reasons: record.reasons,
    });
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('logs allow decisions at info', () => {
    const { lines, logger } = capture();
    decisionLogger(logger)({ ...record, decision: 'allow', reasons: [] }, 0.5);
    expect(lines[0]).toMatchObject({ level: 'info', decision: 'allow' });
  });

  it('adds the caller the server shell proved, and nothing when it is not given', () => {
    const { lines, logger } = capture();
    decisionLogger(logger)(record, 1, 'verified-client-cert');
    expect(lines[0]).toMatchObject({ caller: 'verified-client-cert' });
    expect(auditLine(record, 1)).not.toHaveProperty('caller');
  });

  it('copies only known fields (nothing extra leaks from a record)', () => {
    const sneaky = { ...record, secret: 'x' } as AuditRecord;
    expect(auditLine(sneaky, 1)).not.toHaveProperty('secret');
  });

  it('carries the model version, signed approvers and the record approvers (what and who)', () => {
    const model = {
      name: 'fraud@3',
      version: '3',
      keyId: 'ci',
      format: 'v2' as const,
      sha256: 'a',
      approvers: ['carol'],
    };
    const approvers = { names: ['carol'], from: 'claims.approvers' as const };
    const line = auditLine({ ...record, rule: 'inference', models: [model], approvers }, 1);
    expect(line).toMatchObject({ rule: 'inference', models: [model], approvers });
    expect(auditLine(record, 1)).not.toHaveProperty('approvers');
  });

  it('redacts key-like fields whatever logs them', () => {
    const { lines, logger } = capture();
    logger.info(
      { key: 'k-bytes', nested: { token: 't', privateKey: 'p' }, err: { config: { headers: 'h' } } },
      'oops',
    );
    const text = JSON.stringify(lines[0]);
    for (const secret of ['k-bytes', '"t"', '"p"', '"h"']) expect(text).not.toContain(secret);
  });
});
