import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { REPORTING_CONTROLLER } from '../audit/events.js';
import type { AuditEntry, AuditFilter } from '../audit/query.js';
import { entryFromEvent, entryFromLogLine, filterEntries, isDecision, parseTime } from '../audit/query.js';
import { isOutput, OUTPUTS, render, type Output } from '../audit/render.js';
import { loadKubeConfig } from '../kube/client.js';
import { listEvents } from '../kube/events-list.js';
import { listReports } from '../kube/reports-list.js';
import { entriesFromReport } from '../audit/running.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { CliIO, Command } from './types.js';
import { UsageError } from './types.js';
import { parseFlags } from './args.js';

const HELP = `usage: modelgate audit [--log FILE|- ...|--running] [--kubeconfig F] [filters] [-o table|wide|json|csv]

Lists past admission decisions: from audit log files (the webhook's JSON lines; '-' = stdin),
or, without --log, from modelgate's Events in the cluster (kubeconfig: --kubeconfig, $KUBECONFIG,
~/.kube/config, or in-cluster).

  --running         instead: what runs now, from the background scanner's PolicyReports
                    (docs/scanner.md): one line per workload, decided anew with today's keys and
                    policy (DECISION allow = passes, deny = fails, warn), with the models, key
                    ids and reasons. USER is empty: a stored object does not say who created it.

filters:
  --user U          only decisions on requests by U
  --decision D      allow | deny | warn | audit
  --namespace N     only namespace N (with Events, only N is listed)
  --reason R        a problem code (e.g. bad-signature) or an Event reason (ModelRejected)
  --since S         a duration before now, in the policy's grammar (units s m h d w, summed:
                    30m, 24h, 7d, 2w, 1h30m), or an ISO 8601 time; a bare number is an error
  --until S         the same grammar: only decisions up to then
  --model M         a verified model, by name (every version) or name@version
  --key K           a model verified with key id K
  --rule R          decided by policy rule R
  --authenticated-only
                    only decisions whose caller presented a client certificate verified
                    against serve --client-ca (CALLER verified-client-cert); without
                    --client-ca anyone who reaches the port can write "unauthenticated" ones

output (-o):
  table             (default) time, decision, object, user, caller, reasons, message cut to 100
  wide              also rule, models (name@version:keyId:sha256-prefix), approvers, request
                    uid, field paths, and the full message
  json              JSON array (--json is the same)
  csv               RFC 4180, the wide columns, quoted where needed

Records written before a field existed show "-" (csv: empty) for it.`;

export const audit: Command = async (args, io) => {
  const values = parseFlags(args, {
    log: { type: 'string', multiple: true },
    kubeconfig: { type: 'string' },
    user: { type: 'string' },
    decision: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    reason: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    model: { type: 'string' },
    key: { type: 'string' },
    rule: { type: 'string' },
    output: { type: 'string', short: 'o' },
    'authenticated-only': { type: 'boolean' },
    json: { type: 'boolean' },
    running: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const filter = toFilter(values);
  const output = outputOf(values);
  const entries = await readEntries(values, io);
  const selected = filterEntries(entries, filter);
  io.stdout.write(render(selected, output));
  return 0;
};

async function readEntries(
  values: { running?: boolean; log?: string[]; kubeconfig?: string; namespace?: string },
  io: CliIO,
): Promise<AuditEntry[]> {
  if (values.running && values.log)
    throw new UsageError("--running reads the cluster's PolicyReports: it cannot be combined with --log");
  if (values.running) return readReports(values.kubeconfig, values.namespace, io);
  if (values.log) return readLogs(values.log, io);
  return readEvents(values.kubeconfig, values.namespace, io);
}

function outputOf(values: { output?: string; json?: boolean }): Output {
  if (values.json && values.output !== undefined && values.output !== 'json')
    throw new UsageError(`--json is -o json: it cannot be combined with -o ${values.output}`);
  if (values.json) return 'json';
  if (values.output === undefined) return 'table';
  if (!isOutput(values.output))
    throw new UsageError(`-o must be one of ${OUTPUTS.join(', ')}, got "${values.output}"`);
  return values.output;
}

function timeFlag(flag: string, text: string): Date {
  const parsed = parseTime(text, new Date());
  if (!parsed.ok) throw new UsageError(`--${flag}: ${parsed.message}`);
  return parsed.value;
}

function toFilter(values: {
  user?: string;
  decision?: string;
  namespace?: string;
  reason?: string;
  since?: string;
  until?: string;
  model?: string;
  key?: string;
  rule?: string;
  'authenticated-only'?: boolean;
}): AuditFilter {
  const filter: AuditFilter = {};
  if (values.decision !== undefined) {
    if (!isDecision(values.decision))
      throw new UsageError(`--decision must be allow, deny, warn or audit, got "${values.decision}"`);
    filter.decision = values.decision;
  }
  if (values.since !== undefined) filter.since = timeFlag('since', values.since);
  if (values.until !== undefined) filter.until = timeFlag('until', values.until);
  for (const name of ['user', 'namespace', 'reason', 'model', 'key', 'rule'] as const) {
    const value = values[name];
    if (value !== undefined) filter[name] = value;
  }
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

async function readReports(
  kubeconfig: string | undefined,
  namespace: string | undefined,
  io: CliIO,
): Promise<AuditEntry[]> {
  const config = await clusterConfig(kubeconfig, io);
  const reports = await listReports(config, namespace).catch((err: Error) => {
    throw new UsageError(`cannot list PolicyReports: ${err.message}`);
  });
  if (!reports)
    throw new UsageError(
      'the PolicyReport CRD (wgpolicyk8s.io/v1alpha2) is not installed, so the background scanner writes no reports: install it (chart value scanner.policyReports.installCRD=true; docs/scanner.md)',
    );
  return reports.flatMap(entriesFromReport);
}

async function readEvents(
  kubeconfig: string | undefined,
  namespace: string | undefined,
  io: CliIO,
): Promise<AuditEntry[]> {
  const config = await clusterConfig(kubeconfig, io);
  const events = await listEvents(config, namespace).catch((err: Error) => {
    throw new UsageError(`cannot list Events: ${err.message}`);
  });
  return events.flatMap((e) => entryFromEvent(e, REPORTING_CONTROLLER) ?? []);
}

async function clusterConfig(kubeconfig: string | undefined, io: CliIO): Promise<KubeConfig> {
  const path = kubeconfig ?? io.env.KUBECONFIG ?? defaultKubeconfig(io.env);
  const { config } = await loadKubeConfig(path, io.env).catch((err: Error) => {
    throw new UsageError(
      `cannot read kubeconfig ${path ?? ''}: ${err.message}; or read audit log lines with --log FILE`,
    );
  });
  if (!config)
    throw new UsageError(
      'no kubeconfig (none given, $KUBECONFIG unset, no ~/.kube/config, not in a cluster): read audit log lines with --log FILE (- for stdin), or pass --kubeconfig',
    );
  return config;
}

/** ~/.kube/config when it exists: a missing default is "no kubeconfig", not a read error. */
function defaultKubeconfig(env: NodeJS.ProcessEnv): string | undefined {
  const path = env.HOME ? `${env.HOME}/.kube/config` : undefined;
  return path && existsSync(path) ? path : undefined;
}
