/**
 * `make demo`: a local control plane + modelgate, a signed Deployment admitted and a tampered
 * one refused, then it keeps running for you to poke at until Ctrl-C (which cleans everything
 * up). `DEMO_EXIT=1` or `--once` exits after printing (CI smoke test).
 *
 * Run with Node's type stripping: node --import ./test/harness/tsResolve.ts test/demo/demo.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startControlPlane, toolsBin, type ControlPlane } from '../harness/controlPlane.js';
import { kubectl } from '../harness/kubectl.js';
import { waitFor } from '../harness/net.js';
import { repoRoot } from '../harness/sandbox.js';
import { ensureNamespace, startWebhook, type Webhook } from '../harness/webhook.js';

const examples = path.join(repoRoot, 'examples');
const once = process.env.DEMO_EXIT === '1' || process.argv.includes('--once');
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function say(s = ''): void {
  process.stdout.write(`${s}\n`);
}

function exampleKeys(): Record<string, string> {
  const dir = path.join(examples, 'keys');
  return Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
}

async function show(
  cp: ControlPlane,
  args: string[],
  stdin?: { shown: string; text: string },
): Promise<number> {
  say(bold(`$ ${stdin ? `${stdin.shown} | ` : ''}kubectl ${args.join(' ')}`));
  const r = await kubectl(cp.kubeconfig, args, stdin?.text);
  const out = `${r.stdout}${r.stderr}`.trimEnd();
  if (out) say(out.replace(/^/gm, '  '));
  say();
  return r.code;
}

async function walkthrough(cp: ControlPlane, webhook: Webhook): Promise<void> {
  say(bold('\n== a signed model: admitted'));
  await show(cp, ['apply', '-f', path.join('examples', 'signed-deployment.yaml')]);
  say(bold('== the same model, tampered after signing: refused'));
  await show(cp, ['apply', '-f', path.join('examples', 'tampered-deployment.yaml')]);
  say(bold('== the tampered model in ml-staging, whose policy rule only warns: admitted with a warning'));
  const tampered = fs.readFileSync(path.join(examples, 'tampered-deployment.yaml'), 'utf8');
  await show(cp, ['apply', '-f', '-'], {
    shown: "sed 's/namespace: ml-serving/namespace: ml-staging/' examples/tampered-deployment.yaml",
    text: tampered.replace('namespace: ml-serving', 'namespace: ml-staging'),
  });

  // Events are written asynchronously, after the answer.
  await waitFor(
    'the ModelRejected Event',
    async () =>
      (await kubectl(cp.kubeconfig, ['get', 'events', '-n', 'ml-serving'])).stdout.includes('ModelRejected')
        ? true
        : undefined,
    {
      timeoutMs: 15_000,
    },
  ).catch((err: Error) => say(`(${err.message})`));
  say(bold('== what security reviewers see'));
  await show(cp, ['get', 'events', '-A', '--field-selector', 'reportingComponent=modelgate.dev/webhook']);
  await show(cp, ['get', 'events', '-n', 'ml-serving']);
  say(
    bold(
      '== the controller-manager made the ReplicaSet and Pod of the admitted Deployment (Pending: no nodes here)',
    ),
  );
  await waitFor(
    'the Pod',
    async () =>
      (await kubectl(cp.kubeconfig, ['get', 'pods', '-n', 'ml-serving', '-o', 'name'])).stdout.trim()
        ? true
        : undefined,
    {
      timeoutMs: 15_000,
    },
  ).catch(() => undefined);
  await show(cp, ['get', 'deploy,rs,pods', '-n', 'ml-serving']);

  say(bold('== poke at it'));
  say(`  export PATH=${toolsBin}:$PATH KUBECONFIG=${cp.kubeconfig}`);
  say('  kubectl get events -A');
  say('  kubectl apply -f examples/tampered-deployment.yaml');
  say(`  tail -f ${webhook.logFile}    # modelgate's JSON decision log`);
  say(`  keys: ${webhook.keys.dir}   policy: ${path.join('examples', 'policy.yaml')}`);
}

async function main(): Promise<number> {
  say('modelgate demo: starting etcd, kube-apiserver and kube-controller-manager on 127.0.0.1 ...');
  const cp = await startControlPlane({ log: (m) => say(`  ${m}`) });
  let webhook: Webhook | undefined;
  const stop = async (): Promise<void> => {
    await webhook?.stop();
    await cp.stop();
  };
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) return;
    stopping = true;
    say('\nstopping: webhook, controller-manager, apiserver, etcd; removing temp dirs ...');
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (const ns of ['ml-serving', 'ml-staging']) await ensureNamespace(cp.kubeconfig, ns);
    say(
      'starting modelgate serve (ServiceAccount token, RBAC and webhook configuration from the Helm chart) ...',
    );
    webhook = await startWebhook({
      cluster: cp,
      keys: exampleKeys(),
      policyFile: path.join(examples, 'policy.yaml'),
      probeNamespace: 'ml-serving',
    });
    say(`  webhook at ${webhook.url}, registered from the ${webhook.install.source}: ${webhook.install.how}`);
    await walkthrough(cp, webhook);
  } catch (err) {
    say(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    await stop();
    return 1;
  }
  if (once) {
    await stop();
    say('stopped and cleaned up (DEMO_EXIT=1).');
    return 0;
  }
  say(bold('\nRunning. Ctrl-C stops everything and removes the temp dirs.'));
  await new Promise<never>(() => setInterval(() => undefined, 1 << 30));
  return 0;
}

process.exitCode = await main();
