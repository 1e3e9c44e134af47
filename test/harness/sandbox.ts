/**
 * A temp directory plus the processes started in it, all of which stop with it.
 *
 * Every child runs in its own process group (spawned `detached`), so a stop kills the whole
 * tree. Three layers make sure nothing outlives the harness:
 *  1. `stop()` — SIGTERM to each group, SIGKILL after a grace period, then the dir is removed;
 *  2. `exit` / SIGINT / SIGTERM / SIGHUP handlers on the owning process (synchronous SIGKILL);
 *  3. a detached reaper process that polls the owner and cleans up when it dies without
 *     running its handlers (SIGKILL, OOM). Plus: at start, leftovers registered by owners that
 *     are gone are removed (`.e2e/run/<pid>` in the repository).
 * The pid files live in `<dir>/pids/<name>.pid`; a pid is only killed while its command line
 * still mentions the sandbox dir, so a recycled pid is never hit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const registryDir = path.join(repoRoot, '.e2e', 'run');

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The reaper: `node -e REAPER ownerPid sandboxDir`. Kept dependency-free on purpose. */
const REAPER = `
const fs = require('node:fs'), path = require('node:path');
const [owner, dir] = process.argv.slice(1).map((a, i) => (i === 0 ? Number(a) : a));
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const ours = (pid) => { try { return fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8').includes(dir); } catch { return false; } };
setInterval(() => {
  if (!fs.existsSync(dir)) process.exit(0);
  if (alive(owner)) return;
  const pids = path.join(dir, 'pids');
  for (const f of fs.existsSync(pids) ? fs.readdirSync(pids) : []) {
    const pid = Number(fs.readFileSync(path.join(pids, f), 'utf8'));
    if (pid > 0 && ours(pid)) { try { process.kill(-pid, 'SIGKILL'); } catch {} }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(path.join(process.argv[3], String(owner)), { force: true });
  process.exit(0);
}, 500);
`;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdlineMentions(pid: number, needle: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
  } catch {
    return false;
  }
}

function killGroupsSync(dir: string, signal: NodeJS.Signals): void {
  const pidsDir = path.join(dir, 'pids');
  if (!fs.existsSync(pidsDir)) return;
  for (const f of fs.readdirSync(pidsDir)) {
    const pid = Number(fs.readFileSync(path.join(pidsDir, f), 'utf8'));
    if (pid > 0 && cmdlineMentions(pid, dir)) {
      try {
        process.kill(-pid, signal);
      } catch {
        /* already gone */
      }
    }
  }
}

/** Removes what earlier runs left behind when their owner died without cleaning up. */
export function cleanStaleSandboxes(): void {
  if (!fs.existsSync(registryDir)) return;
  for (const entry of fs.readdirSync(registryDir)) {
    const owner = Number(entry);
    if (!(owner > 0) || isAlive(owner)) continue;
    const file = path.join(registryDir, entry);
    for (const dir of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
      killGroupsSync(dir, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
    fs.rmSync(file, { force: true });
  }
}

const live = new Set<Sandbox>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const s of live) s.stopSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      for (const s of live) s.stopSync();
      // Someone else (vitest, the demo) handles the signal too: let them finish the exit.
      if (process.listenerCount(sig) > 1) return;
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

export class Sandbox {
  readonly dir: string;
  readonly keep: boolean;
  private readonly procs = new Map<string, ManagedProcess>();
  private reaper: ChildProcess | undefined;
  private stopped = false;

  private constructor(dir: string, keep: boolean) {
    this.dir = dir;
    this.keep = keep;
  }

  /** `prefix` names the temp dir; `E2E_KEEP=1` keeps it (logs, certs) after stop for debugging. */
  static create(prefix: string): Sandbox {
    cleanStaleSandboxes();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    for (const sub of ['pids', 'logs']) fs.mkdirSync(path.join(dir, sub));
    const sandbox = new Sandbox(dir, process.env.E2E_KEEP === '1');
    fs.mkdirSync(registryDir, { recursive: true });
    fs.appendFileSync(path.join(registryDir, String(process.pid)), `${dir}\n`);
    sandbox.startReaper();
    live.add(sandbox);
    installExitHandlers();
    return sandbox;
  }

  private startReaper(): void {
    this.reaper = spawn(process.execPath, ['-e', REAPER, String(process.pid), this.dir, registryDir], {
      detached: true,
      stdio: 'ignore',
    });
    this.reaper.unref();
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /** Starts `command` in its own process group with stdout+stderr in `logs/<name>.log`. */
  spawn(name: string, command: string, args: string[], opts: SpawnOptions = {}): ManagedProcess {
    if (this.stopped) throw new Error(`sandbox ${this.dir} is stopped`);
    const logFile = this.path('logs', `${name}.log`);
    const log = fs.openSync(logFile, 'a');
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: opts.env ?? process.env,
      cwd: opts.cwd ?? this.dir,
    });
    fs.closeSync(log);
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    fs.writeFileSync(this.path('pids', `${name}.pid`), String(child.pid));
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
      child.once('error', (err) => resolve(err.message));
    });
    const proc: ManagedProcess = { name, pid: child.pid, logFile, child, exited };
    this.procs.set(name, proc);
    return proc;
  }

  /** Stops one process group: SIGTERM, then SIGKILL after `graceMs`. */
  async kill(name: string, graceMs = 5_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.procs.get(name);
    if (!proc) return;
    this.procs.delete(name);
    const gone = proc.child.exitCode !== null || proc.child.signalCode !== null;
    if (!gone) {
      signalGroup(proc.pid, signal);
      const timedOut = await Promise.race([proc.exited.then(() => false), sleep(graceMs).then(() => true)]);
      if (timedOut) signalGroup(proc.pid, 'SIGKILL');
      await proc.exited;
    }
    // Children of the leader may still linger in the group.
    signalGroup(proc.pid, 'SIGKILL');
    fs.rmSync(this.path('pids', `${name}.pid`), { force: true });
  }

  /** The running process called `name`, if any. */
  process(name: string): ManagedProcess | undefined {
    return this.procs.get(name);
  }

  /** Sends `signal` to one process group (fault tests: SIGKILL, SIGSTOP, SIGCONT). */
  signal(name: string, signal: NodeJS.Signals): void {
    const proc = this.procs.get(name);
    if (!proc) throw new Error(`no process ${name} in ${this.dir}`);
    signalGroup(proc.pid, signal);
  }

  /** The last `lines` lines of every log, for failure reports. */
  logTails(lines = 40): string {
    const logs = this.path('logs');
    if (!fs.existsSync(logs)) return '';
    return fs
      .readdirSync(logs)
      .map((f) => {
        const text = fs
          .readFileSync(path.join(logs, f), 'utf8')
          .trimEnd()
          .split('\n')
          .slice(-lines)
          .join('\n');
        return `----- ${f} (last ${lines} lines) -----\n${text}`;
      })
      .join('\n');
  }

  /** Stops every process (last started first) and removes the dir. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    for (const name of [...this.procs.keys()].reverse()) await this.kill(name);
    this.finish();
  }

  /** For exit handlers: no waiting, SIGKILL everything now. */
  stopSync(): void {
    if (this.stopped) return;
    for (const proc of this.procs.values()) signalGroup(proc.pid, 'SIGKILL');
    this.procs.clear();
    this.finish();
  }

  private finish(): void {
    this.stopped = true;
    live.delete(this);
    if (this.reaper?.pid !== undefined) signalGroup(this.reaper.pid, 'SIGKILL');
    if (!this.keep) fs.rmSync(this.dir, { recursive: true, force: true });
    unregister(this.dir);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

function unregister(dir: string): void {
  const file = path.join(registryDir, String(process.pid));
  if (!fs.existsSync(file)) return;
  const rest = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((d) => d && d !== dir);
  if (rest.length === 0) fs.rmSync(file, { force: true });
  else fs.writeFileSync(file, `${rest.join('\n')}\n`);
}
