// The native engine's SCM_RIGHTS probes: sendmsg, recvmsg, sendmmsg, recvmmsg, pidfd_getfd (exit probes; their
// entries are stashed by ./program.ts's entry probe). Stand-in until they land: none.
import type { KernelCtx, Probe } from './kernel.js';

export function messageProbes(_k: KernelCtx): Probe[] {
  return [];
}
