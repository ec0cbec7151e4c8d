// procfs: pure parsers of /proc text, a reader with the proc root as a parameter, and the snapshot.

export * from './errors.js';
export * from './fdlink.js';
export * from './fdinfo.js';
export * from './maps.js';
export * from './status.js';
export * from './net.js';
export * from './ofd.js';
export * from './reader.js';
export * from './snapshot.js';
export * from './records.js';
