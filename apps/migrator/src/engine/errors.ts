/**
 * What the engine, the phases and the gates throw. They know nothing of a command line: the command layer
 * turns these into exit codes (exit-error.ts `exitCodeOf`), so a worker or a test can catch them by kind.
 */

/**
 * The run cannot start or go on as asked: bad usage or configuration, a refusal (a gate, an unknown
 * tenant), a fault of the environment (a server that is not there). Nothing failed; fix and run again.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The work failed: every batch committed before is kept, and the next run resumes from its checkpoint. */
export class StepFailed extends Error {
  override readonly name: string = 'StepFailed';
}

/** Another run holds the (tenant, phase) lock: this one did nothing (a worker puts the item back). */
export class LockHeld extends StepFailed {
  override readonly name = 'LockHeld';
}
