// @ts-check
// npm run build, after tsc -p tsconfig.json and tsc -p tsconfig.blob.json: the start-up snapshot of the CLI
// (scripts/blob-entry.cjs) for the node that runs this, as dist/blob/fdwatch.blob, and one of `fdwatch snapshot`
// alone (also taken for --help and --version), dist/blob/snapshot.blob, with that node's path
// (dist/blob/node-path) and mtime (dist/blob/node-mtime). bin/fdwatch starts from the blob only when the `node`
// it would run is that file with that mtime (a blob is specific to a node binary); otherwise it takes the ESM
// path (bin/fdwatch.js), which this build leaves as it was; so does the blob itself when a dist/src module is
// newer than it.
//
// A module top level that would freeze the building machine's state into the blob fails the build (exit 1, the
// lines say which). node failing to build a blob at all (a build of node without snapshot support) is a
// warning: no blob, the ESM path.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'dist', 'blob');
const blob = path.join(dir, 'fdwatch.blob');
/** the blob of `fdwatch snapshot` (and --help, --version) alone: see FDWATCH_BLOB_COMMAND in scripts/blob-entry.cjs */
const snapshotBlob = path.join(dir, 'snapshot.blob');
const nodePath = path.join(dir, 'node-path');

// a blob that is not rebuilt must not stay: it would be newer than nothing in dist/src, or the wrong node's
for (const f of ['fdwatch.blob', 'snapshot.blob', 'node-path', 'node-mtime']) fs.rmSync(path.join(dir, f), { force: true });

/** Builds one blob into `file` (FDWATCH_BLOB_COMMAND `command`, or all commands): null, or why not. */
function build(file, command) {
  const tmp = `${file}.tmp${process.pid}`;
  const report = `${tmp}.report`;
  const env = { ...process.env, FDWATCH_BLOB_SOURCES: path.join(dir, 'cjs'), FDWATCH_BLOB_REPORT: report, FDWATCH_BLOB_COMMAND: command ?? '' };
  delete env['NODE_OPTIONS'];
  const r = spawnSync(process.execPath, ['--snapshot-blob', tmp, '--build-snapshot', path.join(root, 'scripts', 'blob-entry.cjs')], { env, encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
  const said = (r.stderr ?? '').trim();
  if (r.status !== 0 || !fs.existsSync(tmp)) {
    fs.rmSync(tmp, { force: true });
    fs.rmSync(report, { force: true });
    if (said.startsWith('fdwatch blob: module top levels')) {
      process.stderr.write(`${said}\n`);
      process.exit(1);
    }
    return `node ${process.version} could not build one: ${said.split('\n').slice(-3).join(' / ') || `exit ${r.status ?? r.signal}`}`;
  }
  if (process.env['FDWATCH_BLOB_VERBOSE'] === '1') process.stderr.write(`build-blob: ${fs.readFileSync(report, 'utf8')}${said ? `${said}\n` : ''}`);
  fs.rmSync(report, { force: true });
  fs.renameSync(tmp, file);
  return null;
}

const why = build(blob, null);
if (why !== null) {
  process.stderr.write(`build-blob: no start-up snapshot (fdwatch starts the ESM way): ${why}\n`);
  process.exit(0);
}
// without it, `fdwatch snapshot` starts from the blob of all commands
const whySnapshot = build(snapshotBlob, 'snapshot');
if (whySnapshot !== null) process.stderr.write(`build-blob: no snapshot.blob (fdwatch snapshot starts from fdwatch.blob): ${whySnapshot}\n`);
// the node that built it, for bin/fdwatch's shell builtins: its path, and a file with its mtime (test -nt/-ot
// compare to the nanosecond; touch -r copies it exactly); written after the blob, read only when all are there
const mtimeRef = path.join(dir, 'node-mtime');
const t = spawnSync('touch', ['-r', process.execPath, mtimeRef], { stdio: 'ignore' });
const ns = (f) => fs.statSync(f, { bigint: true }).mtimeNs;
if (t.status !== 0 || ns(mtimeRef) !== ns(process.execPath)) {
  for (const f of [blob, snapshotBlob, mtimeRef]) fs.rmSync(f, { force: true });
  process.stderr.write(`build-blob: no start-up snapshot (fdwatch starts the ESM way): touch -r ${process.execPath} failed\n`);
  process.exit(0);
}
fs.writeFileSync(nodePath, `${process.execPath}\n`);
