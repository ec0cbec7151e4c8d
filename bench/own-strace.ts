// The live benches' baseline: strace run exactly as fdwatch runs it, without fdwatch.
import { straceArgv, straceCommand, straceEnv, TRACE_FD, COMMAND_STDERR_FD } from '../src/live/strace.js';
import { which } from '../src/live/launch.js';

/**
 * strace exactly as fdwatch runs it for a launched command: under setpriv (when installed), fdwatch's argv with the
 * command's wrapper (`sh -c 'exec 2>&4 3>&- 4>&-; exec "$0" "$@"'`), its environment (straceEnv), writing to
 * /dev/null; fds 3 and 4, which fdwatch's strace inherits, open on /dev/null.
 */
export function ownStrace(command: string[]): { file: string; args: string[]; env: NodeJS.ProcessEnv; extraFds: number } {
  const argv = straceArgv({ pids: [], command, output: '/dev/null', stderrFd: COMMAND_STDERR_FD, closeFds: [TRACE_FD] });
  const run = straceCommand(argv, which('setpriv'));
  return { file: run.file, args: run.args, env: straceEnv(), extraFds: COMMAND_STDERR_FD - 2 };
}
