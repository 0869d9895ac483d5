/**
 * RFC 9457 problem details for the service: every error answer is `application/problem+json`
 * with `type`, `title`, `status`, `detail`, the stable `code` of the {@link UnlearnError} and,
 * for input errors, the `field` (a JSON pointer into the request, e.g. `/body/purpose`).
 */
import { UnlearnError, type ErrorCode } from '../errors.js';

/** HTTP status of each error code (DESIGN.md §8; README "Service errors"). */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_ARGS: 400,
  INVALID_PARAMS: 422,
  UNKNOWN_METHOD: 422,
  SUBJECT_NOT_FOUND: 404,
  DATASET_MISSING: 422,
  DATASET_INVALID: 422,
  MODEL_CORRUPT: 422,
  MODEL_MISSING: 422,
  SHAPE_MISMATCH: 422,
  NUMERIC_ERROR: 500,
  DUPLICATE_ID: 409,
  BACKEND_UNAVAILABLE: 503,
  IO_ERROR: 500,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  VERIFICATION_FAILED: 422,
};

/** A problem+json body (RFC 9457 §3). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  field?: string;
  hint?: string;
}

/** An UnlearnError that names the request field at fault (`/body/purpose`, `/query/limit`, `/header/idempotency-key`). */
export class FieldError extends UnlearnError {
  readonly field: string;
  constructor(code: ErrorCode, field: string, message: string, hint?: string) {
    super(code, message, hint);
    this.field = field;
  }
}

const kebab = (c: string) => c.toLowerCase().replace(/_/g, '-');

/** The problem body for an error; anything that is not an UnlearnError is a 500 without details. */
export function problemOf(e: unknown): Problem {
  if (e instanceof UnlearnError) {
    const status = HTTP_STATUS[e.code];
    return {
      type: `/problems/${kebab(e.code)}`,
      title: e.code.replace(/_/g, ' ').toLowerCase(),
      status,
      detail: status >= 500 ? 'internal error' : e.message,
      code: e.code,
      ...(e instanceof FieldError && { field: e.field }),
      ...(e.hint && status < 500 && { hint: e.hint }),
    };
  }
  return { type: '/problems/internal', title: 'internal error', status: 500, detail: 'internal error', code: 'INTERNAL' };
}

/** A problem+json Response. */
export function problemResponse(p: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(p), { status: p.status, headers: { 'content-type': 'application/problem+json', ...headers } });
}
