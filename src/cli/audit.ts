import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { REPORTING_CONTROLLER } from '../audit/events.js';
import type { AuditEntry, AuditFilter } from '../audit/query.js';
import {
  entryFromEvent,
  entryFromLogLine,
  filterEntries,
  formatTable,
  isDecision,
  parseSince,
} from '../audit/query.js';
import { loadKubeConfig } from '../kube/client.js';
import { listEvents } from '../kube/events-list.js';
import type { CliIO, Command } from './types.js';
import { UsageError } from './types.js';
import { parseFlags } from './args.js';

const HELP = `usage: modelgate audit [--log FILE|- ...] [--kubeconfig F] [filters] [--json]

Lists past admission decisions: from audit log files (the webhook's JSON lines; '-' = stdin),
or, without --log, from modelgate's Events in the cluster (kubeconfig: --kubeconfig, $KUBECONFIG,
~/.kube/config, or in-cluster).

filters:
  --user U          only decisions on requests by U
  --decision D      allow | deny | warn | audit
  --namespace N     only namespace N (with Events, only N is listed)
  --reason R        a problem code (e.g. bad-signature) or an Event reason (ModelRejected)
  --since S         a duration before now, in the policy's grammar (units s m h d w, summed:
                    30m, 24h, 7d, 2w, 1h30m), or an ISO 8601 time
  --authenticated-only
                    only decisions whose caller presented a client certificate verified
                    against serve --client-ca (CALLER verified-client-cert); without
                    --client-ca anyone who reaches the port can write "unauthenticated" ones
  --json            JSON array instead of a table`;

export const audit: Command = async (args, io) => {
  const values = parseFlags(args, {
    log: { type: 'string', multiple: true },
    kubeconfig: { type: 'string' },
    user: { type: 'string' },
    decision: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    reason: { type: 'string' },
    since: { type: 'string' },
    'authenticated-only': { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const filter = toFilter(values);
  const entries = values.log
    ? await readLogs(values.log, io)
    : await readEvents(values.kubeconfig, values.namespace, io);
  const selected = filterEntries(entries, filter);
  io.stdout.write(values.json ? `${JSON.stringify(selected, null, 2)}\n` : formatTable(selected));
  return 0;
};

function toFilter(values: {
  user?: string;
  decision?: string;
  namespace?: string;
  reason?: string;
  since?: string;
  'authenticated-only'?: boolean;
}): AuditFilter {
  const filter: AuditFilter = {};
  if (values.decision !== undefined) {
    if (!isDecision(values.decision))
      throw new UsageError(`--decision must be allow, deny, warn or audit, got "${values.decision}"`);
    filter.decision = values.decision;
  }
  if (values.since !== undefined) {
    const since = parseSince(values.since, new Date());
    if (!since)
      throw new UsageError(
        `--since must be a duration like 30m, 24h, 7d, 2w or 1h30m, or an ISO 8601 time, got "${values.since}"`,
      );
    filter.since = since;
  }
  if (values.user !== undefined) filter.user = values.user;
  if (values.namespace !== undefined) filter.namespace = values.namespace;
  if (values.reason !== undefined) filter.reason = values.reason;
  if (values['authenticated-only']) filter.authenticatedOnly = true;
  return filter;
}

async function readLogs(files: string[], io: CliIO): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (const file of files) {
    const lines =
      file === '-' ? createInterface({ input: io.stdin, crlfDelay: Infinity }) : await openLines(file);
    for await (const line of lines) {
      const entry = entryFromLogLine(line);
      if (entry) entries.push(entry);
    }
  }
  return entries;
}

async function openLines(file: string): Promise<AsyncIterable<string>> {
  const handle = await open(file).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${err.code ?? err.message}`);
  });
  return handle.readLines();
}

async function readEvents(
  kubeconfig: string | undefined,
  namespace: string | undefined,
  io: CliIO,
): Promise<AuditEntry[]> {
  const path = kubeconfig ?? io.env.KUBECONFIG ?? defaultKubeconfig(io.env);
  const { config } = await loadKubeConfig(path, io.env);
  if (!config) throw new UsageError('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or use --log FILE');
  const events = await listEvents(config, namespace).catch((err: Error) => {
    throw new UsageError(`cannot list Events: ${err.message}`);
  });
  return events.flatMap((e) => entryFromEvent(e, REPORTING_CONTROLLER) ?? []);
}

function defaultKubeconfig(env: NodeJS.ProcessEnv): string | undefined {
  return env.HOME ? `${env.HOME}/.kube/config` : undefined;
}
