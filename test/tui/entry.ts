// E2E entry: `node dist/test/tui/entry.js TRACE [JSON]` runs the replay dashboard the way `fdwatch replay --tui` will.
// Test hooks: FDWATCH_TEST_PIDFILE=path writes the pid there; FDWATCH_TEST_CRASH=1 throws from a timer once the
// dashboard is up (the terminal must still be restored).
import fs from 'node:fs';
import { runReplayTui } from '../../src/cli/tui.js';

const [trace, json] = process.argv.slice(2);
if (!trace) {
  process.stderr.write('usage: entry.js TRACE [JSON]\n');
  process.exit(2);
}
const pidfile = process.env['FDWATCH_TEST_PIDFILE'];
if (pidfile) fs.writeFileSync(pidfile, String(process.pid));
if (process.env['FDWATCH_TEST_CRASH']) {
  setTimeout(() => { throw new Error('fdwatch test crash'); }, 800);
}
runReplayTui({ trace, json: json ?? null }).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`entry: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
