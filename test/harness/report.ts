// What one test file's process said, read from uvu's plain output (uvu 0.5, colours off), and the closing
// line of a run. Pure: test/run.ts does the spawning and printing.

export interface Failure {
  /** the test's name as uvu prints it after FAIL (with the suite's name first, if it has one) */
  name: string;
  /** the error's message lines, up to the diff or the stack */
  message: string;
}

export interface FileOutcome {
  /** the exit of the file's process: code, or signal, or killed by the runner after a timeout */
  code: number | null;
  signal: string | null;
  timedOutMs: number | null;
  stdout: string;
  stderr: string;
  /** the last test that had started, from the child's events file (null: none had) */
  lastStarted: string | null;
}

export interface FileResult {
  passed: number;
  failed: number;
  skipped: number;
  failures: Failure[];
  /** set when the file did not run to its end: what happened, in one line */
  crash: string | null;
}

const FAIL_LINE = /^ {3}FAIL {2}(.*)$/;
const TOTALS = /^ {2}Total: {5}(\d+)\n {2}Passed: {4}(\d+)\n {2}Skipped: {3}(\d+)$/m;

/** The FAIL blocks of uvu's output, each its name and message. */
export function failures(stdout: string): Failure[] {
  const lines = stdout.split('\n');
  const out: Failure[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = FAIL_LINE.exec(lines[i]!);
    if (!m) continue;
    const rest = m[1]!;
    const q = rest.indexOf('"');
    const suite = q > 0 ? rest.slice(0, q).trim() : '';
    const name = q >= 0 ? rest.slice(q + 1, rest.endsWith('"') ? -1 : undefined) : rest;
    const msg: string[] = [];
    for (let j = i + 1; j < lines.length && lines[j] !== '' && !/^ {4}at /.test(lines[j]!); j++) msg.push(lines[j]!.trim());
    out.push({ name: suite ? `${suite} › ${name}` : name, message: msg.join('\n') });
  }
  return out;
}

/** One mark per finished test (uvu writes "• " for a pass and "✘ " for a failure as each test ends). */
function marks(stdout: string): { pass: number; fail: number } {
  const body = stdout.split('\n').filter((l) => !FAIL_LINE.test(l) && !/^ {4}/.test(l)).join('\n');
  return { pass: body.split('• ').length - 1, fail: body.split('✘ ').length - 1 };
}

/** The counts of one file, and the reason when it did not finish. */
export function fileResult(o: FileOutcome): FileResult {
  const fails = failures(o.stdout);
  const t = TOTALS.exec(o.stdout);
  const during = o.lastStarted === null ? 'before its first test' : `during test "${o.lastStarted}"`;
  const how = o.timedOutMs !== null ? `timed out after ${o.timedOutMs / 1000} s and was killed`
    : o.signal !== null ? `was killed by ${o.signal}`
    : `exited with code ${o.code}`;
  if (t) {
    const total = Number(t[1]);
    const passed = Number(t[2]);
    const skipped = Number(t[3]);
    const failed = total - passed;
    if (o.code === 0 && o.timedOutMs === null) {
      if (total === 0 && skipped === 0) return { passed, failed: 1, skipped, failures: fails, crash: 'ran no tests' };
      return { passed, failed, skipped, failures: fails, crash: null };
    }
    // its tests finished but the process did not end well: something it left behind threw, or it hung
    if (failed > 0 && o.code === 1 && o.timedOutMs === null) return { passed, failed, skipped, failures: fails, crash: null };
    return { passed, failed: failed + 1, skipped, failures: fails, crash: `${how} after its tests finished` };
  }
  const m = marks(o.stdout);
  const lost = m.fail - fails.length;
  const crash = `${how} ${during}${lost > 0 ? ` (the errors of ${lost} earlier failed test${lost > 1 ? 's' : ''} were lost with it)` : ''}`;
  return { passed: m.pass, failed: m.fail + 1, skipped: 0, failures: fails, crash };
}

/** The closing line CI reads. */
export function closingLine(passed: number, failed: number, skipped: number): string {
  return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
}

/** The line of a crashed file's stderr that says what was thrown ("Error: ...", "TypeError [CODE]: ..."). */
export function thrown(stderr: string): string | null {
  const lines = stderr.split('\n').map((l) => l.trimEnd());
  for (let i = lines.length - 1; i >= 0; i--) if (/^(?:[A-Z]\w*)?Error\b.*:/.test(lines[i]!)) return lines[i]!;
  return null;
}

/** The last `n` non-empty lines of a text, for a crashed file's stderr. */
export function tail(text: string, n: number): string[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(-n);
}
