// pidfd_getfd: the caller's new fd is a copy of an fd of the process behind a pidfd (one open file description). Pure.
import { plainTarget, type FdTarget } from '../model/fdop.js';
import type { FdTables } from './fdtables.js';
import type { Via } from './pairing.js';
import { endOf, type RecordBuilder } from './records.js';
import type { FdEntry, Process } from './state.js';

/** The caller's new fd `fd` is a copy of fd `targetFd` of the process behind `pidfd`. */
export function take(tables: FdTables, out: RecordBuilder, processes: ReadonlyMap<number, Process>,
v: Via, pidfd: FdEntry | null, targetFd: number | null, fd: number, target: FdTarget | null): void {
  const { p } = v;
  const fromPid = pidfd?.ofd.pidfdPid ?? null;
  const srcProc = fromPid !== null ? processes.get(fromPid) : undefined;
  const src = targetFd !== null ? srcProc?.table.fds.get(targetFd) : undefined;
  const ofd = src ? src.ofd : tables.newOfd(target ?? plainTarget(`fd:${targetFd}`, 'unknown'), false);
  ofd.transferred = true;
  p.hasTransferred = true;
  const en = tables.add(p, fd, ofd, true,
    { how: 'taken', syscall: v.syscall, fromPid, fromFd: targetFd, fromComm: srcProc?.comm ?? null }, v.ts);
  out.counts.fdsSent++;
  out.counts.fdsReceived++;
  p.fdsReceived++;
  if (srcProc) srcProc.fdsSent++;
  out.fd(p, v.tid, en, 'take', v.syscall, v.ts, targetFd, fromPid);
  const t = out.transfer({
    via: 'pidfd_getfd', state: 'delivered',
    from: { pid: fromPid, tid: null, comm: srcProc?.comm ?? null, uid: srcProc?.uid ?? null, fd: targetFd, socket: null },
    to: endOf(p, v.tid, en.fd, null), target: ofd.target, kind: ofd.kind, sentTs: v.ts, receivedTs: v.ts, line: v.line,
    origin: ofd.origin,
  });
  out.crossings([t], v.ts);
}
