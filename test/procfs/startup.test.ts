// What a snapshot loads: the modules a plain `fdwatch snapshot` does not need stay unloaded (each is start-up time
// of every run: node:child_process ~20 ms, for the opt-in helper process only).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const here = path.dirname(fileURLToPath(import.meta.url));

test('a snapshot of this process (text and --json) does not load node:child_process (only the opt-in helper needs it)', () => {
  const cliJs = path.resolve(here, '../../src/cli/snapshot.js');
  const script = `
    const { runSnapshot } = await import(${JSON.stringify(cliJs)});
    const sink = { write: () => true };
    const text = await runSnapshot({ pids: [process.pid], json: null, out: sink });
    const json = await runSnapshot({ pids: [process.pid], json: '-', out: sink });
    const loaded = process.moduleLoadList.filter((m) => m.endsWith(' child_process'));
    process.stdout.write(JSON.stringify({ text, json, loaded }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, FDWATCH_SNAPSHOT_THREADS: '1' } });
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { text: number; json: number; loaded: string[] };
  assert.is(got.text, 0);
  assert.is(got.json, 0);
  assert.equal(got.loaded, []);
  // the check can fail: the same list names the module once it is loaded
  const r2 = spawnSync(process.execPath, ['-e', `require('node:child_process'); process.stdout.write(JSON.stringify(process.moduleLoadList.filter((m) => m.endsWith(' child_process'))))`], { encoding: 'utf8' });
  assert.ok((JSON.parse(r2.stdout) as string[]).length > 0, r2.stdout);
});

test.run();
