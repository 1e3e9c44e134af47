/**
 * A keys directory laid out the way the kubelet mounts a Secret, so rotation is tested the way
 * it happens in a cluster: the files live in a hidden timestamped dir, `..data` is a symlink to
 * it, each key `<id>` is a symlink to `..data/<id>`, and an update writes a new timestamped dir
 * and renames a new `..data` symlink over the old one (one atomic step), then fixes the per-key
 * links and removes the old dir.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export class KeysDir {
  readonly dir: string;

  constructor(dir: string, keys: Record<string, string>) {
    this.dir = dir;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.write(keys);
  }

  /** Replaces the whole content (like `kubectl apply` of the Secret): keys not given disappear. */
  write(keys: Record<string, string>): void {
    const old = this.current();
    const stamp = `..${new Date().toISOString().replace(/[-:.]/g, '_')}.${randomBytes(4).toString('hex')}`;
    const payload = path.join(this.dir, stamp);
    fs.mkdirSync(payload, { mode: 0o700 });
    for (const [id, value] of Object.entries(keys))
      fs.writeFileSync(path.join(payload, id), value, { mode: 0o400 });
    const tmpLink = path.join(this.dir, '..data_tmp');
    fs.rmSync(tmpLink, { force: true });
    fs.symlinkSync(stamp, tmpLink);
    fs.renameSync(tmpLink, path.join(this.dir, '..data'));
    for (const id of Object.keys(keys)) {
      const link = path.join(this.dir, id);
      if (!isSymlink(link)) fs.symlinkSync(path.join('..data', id), link);
    }
    for (const entry of fs.readdirSync(this.dir)) {
      if (!entry.startsWith('..') && !(entry in keys)) fs.rmSync(path.join(this.dir, entry), { force: true });
    }
    if (old !== undefined) fs.rmSync(path.join(this.dir, old), { recursive: true, force: true });
  }

  /** The key ids currently visible. */
  ids(): string[] {
    return fs.readdirSync(this.dir).filter((e) => !e.startsWith('..'));
  }

  private current(): string | undefined {
    const link = path.join(this.dir, '..data');
    return isSymlink(link) ? fs.readlinkSync(link) : undefined;
  }
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}
