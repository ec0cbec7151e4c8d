// An internal error (a bug in fdwatch) during a command run: the run ends as a stop would, then one line and
// exit status 70. Installed by the CLI entry only; library modules never catch what they do not understand.

/**
 * TEST HOOK, nothing else (a bug cannot be caused on demand; no effect unless set, read once at start):
 * FDWATCH_TEST_THROW=record:N throws in the output's handling of its N-th record; usr2:throw and usr2:reject
 * throw from a SIGUSR2 listener, as an exception and as a promise rejection nothing awaits.
 */
const TEST_THROW = /^(record:[1-9]\d*|usr2:throw|usr2:reject)$/.exec(process.env['FDWATCH_TEST_THROW'] ?? '')?.[1] ?? null;
const testAtRecord = TEST_THROW?.startsWith('record:') ? Number(TEST_THROW.slice(7)) : 0;
let recordsOut = 0;

/** Called by each command's output for every record it handles (the test hook's `record:N`). */
export function testFault(): void {
  if (testAtRecord > 0 && ++recordsOut === testAtRecord) throw new RangeError(`test fault at record ${testAtRecord} (FDWATCH_TEST_THROW)`);
}

/** The test hook's `usr2:` stages, once per run of the CLI. */
export function installTestHook(): void {
  if (TEST_THROW === 'usr2:throw') process.on('SIGUSR2', () => { throw new TypeError('test fault on SIGUSR2 (FDWATCH_TEST_THROW)'); });
  if (TEST_THROW === 'usr2:reject') process.on('SIGUSR2', () => { void Promise.reject(new TypeError('test fault on SIGUSR2, rejected (FDWATCH_TEST_THROW)')); });
}
