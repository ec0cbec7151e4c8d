// The native eBPF engine's loader (I/O edge): maps, programs (./program.ts), tracepoint attachment, the ring.
// Stand-in until the kernel side lands: it says so rather than pretend.
import type { NativeHandle, NativeLoadError, NativeOptions } from './handle.js';

export function loadNative(_opts: NativeOptions): NativeHandle | NativeLoadError {
  return { error: 'the native eBPF engine is not built yet' };
}
