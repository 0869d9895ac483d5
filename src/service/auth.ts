/**
 * Bearer tokens of the service. A token is `ul_` + 32 random bytes (256 bits) in base64url; only
 * its sha256 is stored. Roles: `requester` (bound by the operator to pseudonymised subjects; may
 * file and see requests for those only, against over-unlearning, Hu et al. NDSS 2024),
 * `operator` (models, plans, everything), `auditor` (read-only: log, certificates, keys).
 */
import { createHash, randomBytes } from 'node:crypto';
import { UnlearnError } from '../errors.js';
import { newId, type Store, type TokenRow } from '../store/store.js';

export const ROLES = ['requester', 'operator', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** An authenticated caller. */
export interface Principal {
  tokenId: string;
  role: Role;
  /** Pseudonymised subjects a requester may act for (empty for other roles). */
  subjects: string[];
}

/** sha256 hex of a token secret (what the store keeps). */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * Create a token and store its hash. Returns the secret (shown once) and its id.
 * @throws UnlearnError INVALID_ARGS for an unknown role, or subjects given to a non-requester.
 */
export async function createToken(store: Store, o: { role: string; subjects?: string[]; label?: string; expiresAt?: number; now?: number }): Promise<{ id: string; secret: string }> {
  if (!(ROLES as readonly string[]).includes(o.role)) throw new UnlearnError('INVALID_ARGS', `unknown role ${o.role}`, `use one of ${ROLES.join(', ')}`);
  if (o.role !== 'requester' && o.subjects?.length) throw new UnlearnError('INVALID_ARGS', 'only requester tokens are bound to subjects', 'drop --subject, or use --role requester');
  const secret = 'ul_' + randomBytes(32).toString('base64url');
  const id = newId('tok');
  const now = o.now ?? Date.now();
  await store.insertToken({ id, hash: hashToken(secret), role: o.role, subjects: JSON.stringify([...new Set(o.subjects ?? [])].sort()), label: o.label ?? null, created_at: now, expires_at: o.expiresAt ?? null, revoked_at: null });
  return { id, secret };
}

const BEARER_RE = /^Bearer ([A-Za-z0-9_\-.~+/]+=*)$/;

/**
 * The principal of an `Authorization` header value. The token row is cached by the store for
 * {@link Store.tokenCacheMs} (default 1 s): expiry is checked on every request, a revocation
 * through the same store at once, a revocation by another process within that time.
 * @throws UnlearnError UNAUTHORIZED when missing, malformed, unknown, expired or revoked (one
 *   message for the last three, so the answer does not tell which tokens exist).
 */
export async function authenticate(store: Store, header: string | undefined, now = Date.now()): Promise<Principal> {
  if (!header) throw new UnlearnError('UNAUTHORIZED', 'missing Authorization header', 'send Authorization: Bearer <token>');
  const m = BEARER_RE.exec(header);
  if (!m) throw new UnlearnError('UNAUTHORIZED', 'Authorization is not a bearer token', 'send Authorization: Bearer <token>');
  const row: TokenRow | undefined = await store.activeTokenByHash(hashToken(m[1]), now);
  if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now)) {
    throw new UnlearnError('UNAUTHORIZED', 'token unknown, expired or revoked', 'ask the operator for a valid token');
  }
  return { tokenId: row.id, role: row.role as Role, subjects: JSON.parse(row.subjects) as string[] };
}

/** @throws UnlearnError FORBIDDEN unless the principal has one of `roles`. */
export function requireRole(p: Principal, ...roles: Role[]): void {
  if (!roles.includes(p.role)) throw new UnlearnError('FORBIDDEN', `this needs the ${roles.join(' or ')} role; the token is ${p.role}`, 'use a token with that role');
}

/**
 * Per-token rate limit: a token bucket of `burst` requests refilled at `perSecond`. In memory,
 * per process (a restart refills every bucket).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(readonly perSecond: number, readonly burst: number) {}

  /** Take one request from `key`'s bucket; returns 0 when allowed, else the seconds to wait. */
  take(key: string, now = Date.now()): number {
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.perSecond);
  }
}
