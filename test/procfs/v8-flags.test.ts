// The snapshot command's V8 settings (SNAPSHOT_V8_FLAGS in src/cli/snapshot.ts) take effect when runSnapshot
// sets them at run time: after a snapshot, a young generation whose objects survive grows 16x per step (to V8's
// cap), where V8's default doubles it. Each case runs in a process of its own (V8 flags are per process).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const snapshotModule = fileURLToPath(new URL('../../src/cli/snapshot.js', import.meta.url));

/** new_space's size after a snapshot of this child and 20k small objects kept alive. */
function newSpaceAfterSnapshot(env: Record<string, string>): number {
  const script = `
    import v8 from 'node:v8';
    const { runSnapshot } = await import(${JSON.stringify(snapshotModule)});
    const sink = { write() { return true; } };
    const code = await runSnapshot({ pids: [process.pid], json: '/dev/null', out: sink, err: sink });
    if (code !== 0) throw new Error('snapshot exited ' + code);
    const keep = [];
    for (let i = 0; i < 20000; i++) keep.push({ i, s: 'x' + i });
    process.stdout.write(String(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.is(r.status, 0, r.stderr);
  return Number(r.stdout);
}

test('runSnapshot grows the young generation 16x once objects survive; FDWATCH_SNAPSHOT_V8=default keeps V8 doubling it', () => {
  const MiB = 1 << 20;
  const tuned = newSpaceAfterSnapshot({ FDWATCH_SNAPSHOT_V8: '' });
  const plain = newSpaceAfterSnapshot({ FDWATCH_SNAPSHOT_V8: 'default' });
  assert.ok(tuned >= 16 * MiB, `new space ${tuned / MiB} MiB with the snapshot's flags`);
  assert.ok(plain < 16 * MiB, `new space ${plain / MiB} MiB with V8's defaults`);
});

test.run();
