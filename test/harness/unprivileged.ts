// A copy of the built project that any user can load, for tests whose child drops to another uid: the
// checkout may sit in a folder other users cannot enter (a 0700 mktemp -d, a private home), and the copy
// then still lets that child import the real dist/src and the packages it loads.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../paths.js';

export interface WorldReadableCopy {
  dir: string;
  /** a path inside the copy, from a path relative to the project root (dist/src/cli/snapshot.js) */
  path: (rel: string) => string;
  remove: () => void;
}

/** Every folder from / down to `dir` can be entered by others (the x bit for others; ACLs are not read). */
function enterableByAll(dir: string): boolean {
  let d = path.resolve(dir);
  for (;;) {
    try { if ((fs.statSync(d).mode & 0o001) === 0) return false; } catch { return false; }
    if (d === '/') return true;
    d = path.dirname(d);
  }
}

/** `names` and the packages they depend on (optional ones when installed), as folders in node_modules. */
function packageClosure(names: string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string, optional: boolean): void => {
    if (seen.has(name)) return;
    const manifest = path.join(root, 'node_modules', name, 'package.json');
    if (!fs.existsSync(manifest)) {
      if (optional) return;
      throw new Error(`${name} is not installed in ${path.join(root, 'node_modules')}`);
    }
    seen.add(name);
    const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const dep of Object.keys(pkg['dependencies'] ?? {})) visit(dep, false);
    for (const dep of Object.keys(pkg['optionalDependencies'] ?? {})) visit(dep, true);
  };
  for (const n of names) visit(n, false);
  return [...seen];
}

/** Readable (and folders enterable) by all, whatever the umask the checkout was made with. */
function openUp(p: string): void {
  const st = fs.lstatSync(p);
  if (st.isSymbolicLink()) return;
  fs.chmodSync(p, (st.mode & 0o777) | (st.isDirectory() ? 0o555 : 0o444));
  if (st.isDirectory()) for (const e of fs.readdirSync(p)) openUp(path.join(p, e));
}

/**
 * dist/src, package.json (for "type": "module") and the `packages` the child loads, with their dependencies,
 * copied into a fresh folder under the first of $TMPDIR, /tmp, /var/tmp, /dev/shm that others can enter.
 */
export function worldReadableCopy(packages: string[]): WorldReadableCopy {
  const base = [os.tmpdir(), '/tmp', '/var/tmp', '/dev/shm'].find(enterableByAll);
  if (!base) throw new Error('no temp folder that other users can enter ($TMPDIR, /tmp, /var/tmp, /dev/shm)');
  const dir = fs.mkdtempSync(path.join(base, 'fdwatch-world-'));
  try {
    fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
    fs.cpSync(path.join(root, 'dist', 'src'), path.join(dir, 'dist', 'src'), { recursive: true, dereference: true });
    for (const name of packageClosure(packages)) {
      fs.cpSync(path.join(root, 'node_modules', name), path.join(dir, 'node_modules', name), { recursive: true, dereference: true });
    }
    openUp(dir);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, path: (rel) => path.join(dir, rel), remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
