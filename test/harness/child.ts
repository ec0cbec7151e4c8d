// One test file in a process of its own (spawned by test/run.ts): `node child.js FILE EVENTS`. uvu runs the
// file as its own CLI would, and each test's name is appended to EVENTS as it starts, so that a crash or a
// hang can be pinned on the test it happened in. Synchronous appends: the line is on disk before the test runs.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface UvuGlobals { UVU_DEFER?: number; UVU_QUEUE?: Array<Array<unknown>>; UVU_INDEX?: number }

const [file, events] = process.argv.slice(2);
if (!file || !events) {
  process.stderr.write('usage: node child.js TEST_FILE EVENTS_FILE\n');
  process.exit(2);
}

const g = globalThis as typeof globalThis & UvuGlobals;
// uvu then queues each test.run() until exec() instead of running it on a timer
g.UVU_DEFER = 1;
// uvu's colours are fixed when it loads; the tests' own children see the environment unchanged
const color = process.env['FORCE_COLOR'];
process.env['FORCE_COLOR'] = '0';
const uvu = await import('uvu');
if (color === undefined) delete process.env['FORCE_COLOR'];
else process.env['FORCE_COLOR'] = color;

g.UVU_QUEUE!.push([null]);
g.UVU_INDEX = 0;
uvu.test.before.each((ctx) => { fs.appendFileSync(events, `${JSON.stringify(ctx.__test__)}\n`); });
await import(pathToFileURL(path.resolve(file)).href);
// tests declared after the file's own test.run() would never run (nor fail): queue them too
uvu.test.run();
await uvu.exec();
