// How fdwatch runs strace: the argv (pure), and what strace's own complaints mean for the user (pure).
import { TRACE_SET } from '../model/syscalls.js';

export interface StraceArgs {
  pids: number[];
  command: string[] | null;
  /** where strace writes the trace (fdwatch: /proc/self/fd/N of the trace channel strace inherits as fd N) */
  output: string;
  /** fd the wrapper restores as the command's stderr (strace's own stderr is fdwatch's pipe) */
  stderrFd: number | null;
  /** fds strace inherits that the launched command must not: the wrapper closes them before the command starts */
  closeFds?: number[];
  /** the user's environment, which strace's is made from (straceEnv; default process.env) */
  env?: NodeJS.ProcessEnv;
}

/**
 * strace's TZ when the user has none. With TZ unset, glibc's localtime() stats /etc/localtime again at each
 * timestamp strace prints (two per line: 40% of strace's system calls on a busy trace, though -ttt prints epoch
 * seconds that no time zone changes); a TZ naming the same file is read once.
 */
export const STRACE_TZ = ':/etc/localtime';

/** strace's environment: the user's, with TZ = STRACE_TZ when it has none (straceArgv then takes it out again for the command). */
export function straceEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return env['TZ'] === undefined ? { ...env, TZ: STRACE_TZ } : env;
}

/** The fd strace inherits the trace channel on, and the one it gets the user's stderr on for the command. */
export const TRACE_FD = 3;
export const COMMAND_STDERR_FD = 4;

/**
 * -f follow forks; -yy decorate fds (paths, socket inodes and peers); -ttt epoch times; -I2 so SIGINT/SIGTERM
 * detach even when strace launched the command (-o + command defaults to -I3: fatal signals blocked);
 * a targeted syscall set (not read/write/poll), `?` so names this arch lacks are not errors; signals stay
 * traced: `-e signal=none` would also hide `+++ killed by SIG +++`, the only sign a process died of one;
 * --seccomp-bpf only helps a launched command (it has no effect on -p attaches); -s 256 because strace prints
 * at most -s fds of an SCM_RIGHTS message and one message holds up to 253 (SCM_MAX_FD). `-E TZ`: a launched
 * command gets the user's environment, without the TZ straceEnv gave strace.
 */
export function straceArgv(a: StraceArgs): string[] {
  const argv = [
    '-f', '-yy', '-ttt', '-I2', '-s', '256',
    '-e', `trace=${TRACE_SET.map((n) => '?' + n).join(',')}`,
    '-o', a.output,
  ];
  for (const p of a.pids) argv.push('-p', String(p));
  if (a.command && a.command.length > 0) {
    argv.push('--seccomp-bpf');
    if ((a.env ?? process.env)['TZ'] === undefined) argv.push('-E', 'TZ');
    if (a.stderrFd !== null) {
      // strace's diagnostics go to fdwatch; the command gets the user's stderr back before it starts, and
      // none of the fds strace inherited for itself (the trace channel)
      const close = [a.stderrFd, ...(a.closeFds ?? [])].map((fd) => ` ${fd}>&-`).join('');
      argv.push('--', '/bin/sh', '-c', `exec 2>&${a.stderrFd}${close}; exec "$0" "$@"`, ...a.command);
    } else {
      argv.push('--', ...a.command);
    }
  }
  return argv;
}

/**
 * Runs strace under `setpriv --pdeathsig SIGTERM` when util-linux has it: strace then gets SIGTERM when fdwatch
 * disappears however it ends (kill -9, a crash), and with -I2 SIGTERM makes strace detach from every tracee.
 */
export function straceCommand(argv: string[], setpriv: string | null): { file: string; args: string[] } {
  return setpriv ? { file: setpriv, args: ['--pdeathsig', 'SIGTERM', 'strace', ...argv] } : { file: 'strace', args: argv };
}

/** strace's stderr -> one line saying what went wrong and what to do, or null when it is not an error. */
export function explainStraceError(stderr: string): string | null {
  for (const raw of stderr.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('strace: ')) continue;
    if (/Process \d+ (attached|detached)/.test(line)) continue;
    let m = /attach: ptrace\(PTRACE_SEIZE, (\d+)\): Operation not permitted/.exec(line);
    if (m) return `not permitted to trace ${m[1]}: run fdwatch as root or as the process's user (and check /proc/sys/kernel/yama/ptrace_scope)`;
    m = /attach: ptrace\(PTRACE_SEIZE, (\d+)\): No such process/.exec(line);
    if (m) return `process ${m[1]} exited before it could be attached`;
    m = /Can't stat '([^']*)': No such file or directory/.exec(line);
    if (m) return `command not found: ${m[1]}`;
    if (/seccomp/.test(line) && /not supported|failed/.test(line)) return `strace: ${line.slice(8)} (try again without a command, or upgrade strace)`;
    if (/exec: /.test(line)) return line.slice(8);
    return `strace failed: ${line.slice(8)}`;
  }
  return null;
}
