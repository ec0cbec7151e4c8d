// V8's interrupt budget (the bytecode a function runs between V8's looks at whether to optimise it) for a run that
// is young: 300000, not V8's 67584, so that only what stays hot is compiled. Live strace sessions, native eBPF
// sessions, short replays and the snapshot command set it (each says what it measured); the live sessions put V8's
// own back once they are no longer young.
export const YOUNG_INTERRUPT_BUDGET = '--interrupt-budget=300000';
/** V8's default (node 20, V8 11.3) */
export const V8_INTERRUPT_BUDGET = '--interrupt-budget=67584';
