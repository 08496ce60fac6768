import v8 from 'node:v8';

/**
 * Turns on V8's linear-time regular expression engine for this process (its worker threads
 * included: V8's flags are per process), so the workspace's own PII rules, compiled with the `l`
 * flag, cannot backtrack for minutes on a crafted cell (compileRule). Imported before anything
 * compiles a rule; setting a flag that is already set is harmless.
 */
v8.setFlagsFromString('--enable-experimental-regexp-engine');
