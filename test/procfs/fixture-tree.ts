// Unpacks fixtures/proc/tree.txt (Path / SymlinkTo / Lines / Mode records) into a temp dir: a fake proc root.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type TreeEntry =
  | { path: string; type: 'file'; content: string; mode: number | null }
  | { path: string; type: 'symlink'; target: string; mode: null }
  | { path: string; type: 'dir'; mode: number | null };

const here = path.dirname(fileURLToPath(import.meta.url));
/** the repository root, from dist/test/procfs */
export const repoRoot = path.resolve(here, '..', '..', '..');
export const treeArchive = path.join(repoRoot, 'fixtures', 'proc', 'tree.txt');

function unescape(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) =>
    e === 'n' ? '\n' : e === 't' ? '\t' : e === '\\' ? '\\' : e.startsWith('x') ? String.fromCharCode(parseInt(e.slice(1), 16)) : '\\' + e,
  );
}

export function parseTreeArchive(text: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  const lines = text.split('\n');
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`tree archive line ${i + 1}: ${why}`);
  };
  while (i < lines.length) {
    const line = lines[i]!;
    if (line === '' || line.startsWith('#')) {
      i++;
      continue;
    }
    if (!line.startsWith('Path: ')) fail(`expected "Path: ", got ${JSON.stringify(line)}`);
    const p = line.slice('Path: '.length);
    if (p.startsWith('/') || p.split('/').includes('..')) fail(`path must stay inside the tree: ${p}`);
    i++;
    const kindLine = lines[i] ?? '';
    let entry: TreeEntry;
    if (kindLine.startsWith('SymlinkTo: ')) {
      entry = { path: p, type: 'symlink', target: unescape(kindLine.slice('SymlinkTo: '.length)), mode: null };
      i++;
    } else if (kindLine === 'Directory') {
      entry = { path: p, type: 'dir', mode: null };
      i++;
    } else if (kindLine === 'Lines:') {
      i++;
      const body: string[] = [];
      while (i < lines.length && lines[i]!.startsWith('|')) {
        const l = lines[i]!;
        body.push(l === '|' ? '' : l.startsWith('| ') ? l.slice(2) : fail('content lines start with "| "'));
        i++;
      }
      let content = body.map((b) => b + '\n').join('');
      if (lines[i] === 'NoNewline') {
        content = content.slice(0, -1);
        i++;
      }
      entry = { path: p, type: 'file', content, mode: null };
    } else {
      return fail(`expected SymlinkTo:, Lines: or Directory after Path: ${p}`);
    }
    if ((lines[i] ?? '').startsWith('Mode: ')) {
      if (entry.type === 'symlink') fail('a symlink has no mode');
      (entry as { mode: number | null }).mode = parseInt(lines[i]!.slice('Mode: '.length), 8);
      i++;
    }
    out.push(entry);
  }
  return out;
}

/** Unpacks the archive into a new temp dir and returns it (the fake proc root). */
export function unpackTree(archive = treeArchive): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-proc-'));
  for (const e of parseTreeArchive(fs.readFileSync(archive, 'utf8'))) {
    const full = path.join(root, e.path);
    fs.mkdirSync(e.type === 'dir' ? full : path.dirname(full), { recursive: true });
    if (e.type === 'file') fs.writeFileSync(full, e.content);
    if (e.type === 'symlink') fs.symlinkSync(e.target, full);
    if (e.mode !== null) fs.chmodSync(full, e.mode);
  }
  return root;
}
