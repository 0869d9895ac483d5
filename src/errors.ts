/**
 * The one error type of the project. Every failure a user can cause (bad input, missing data,
 * corrupt files) is an `UnlearnError` with a stable `code`; the CLI maps codes to exit codes
 * (see {@link EXIT_CODES}) and the service maps them to HTTP statuses (src/service/problem.ts).
 */

/** Stable error codes and the process exit code the CLI uses for each (documented in README). */
export const EXIT_CODES = {
  INVALID_ARGS: 2,
  INVALID_PARAMS: 3,
  UNKNOWN_METHOD: 4,
  SUBJECT_NOT_FOUND: 5,
  DATASET_MISSING: 6,
  DATASET_INVALID: 7,
  MODEL_CORRUPT: 8,
  MODEL_MISSING: 9,
  SHAPE_MISMATCH: 10,
  NUMERIC_ERROR: 11,
  DUPLICATE_ID: 12,
  BACKEND_UNAVAILABLE: 13,
  IO_ERROR: 14,
  UNAUTHORIZED: 15,
  FORBIDDEN: 16,
  NOT_FOUND: 17,
  CONFLICT: 18,
  RATE_LIMITED: 19,
  PAYLOAD_TOO_LARGE: 20,
  VERIFICATION_FAILED: 21,
} as const;

export type ErrorCode = keyof typeof EXIT_CODES;

/** Exit code for an error that is not an UnlearnError (a bug). */
export const EXIT_INTERNAL = 1;

export class UnlearnError extends Error {
  readonly code: ErrorCode;
  /** One-line hint naming the fix, shown after the message. */
  readonly hint?: string;
  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message);
    this.name = 'UnlearnError';
    this.code = code;
    this.hint = hint;
  }
  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

/** True when `e` is an UnlearnError, optionally of the given code. */
export function isUnlearnError(e: unknown, code?: ErrorCode): e is UnlearnError {
  return e instanceof UnlearnError && (code === undefined || e.code === code);
}
