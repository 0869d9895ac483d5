/**
 * The lifecycle of a deletion request: one state machine, every transition a transparency-log
 * entry written in the same transaction as the status change.
 *
 *   received → planned → accepted | rejected | auto-accepted → scheduled → running → verifying
 *            → completed | failed → (scheduled again | escalated → scheduled | refused)
 *   received → completed (no data of the subject in any registered model: certificate of that)
 *   received | planned → refused (with the reason)
 *   planned | accepted | auto-accepted → extended (GDPR Art. 12(3): within the first month,
 *            once, by at most two further months, with reasons) → accepted | rejected | scheduled
 */
import { UnlearnError } from '../errors.js';
import type { Executor, RequestRow } from '../store/store.js';
import type { Ledger } from './ledger.js';

export const STATUSES = ['received', 'planned', 'accepted', 'rejected', 'auto-accepted', 'scheduled', 'running', 'verifying', 'completed', 'failed', 'escalated', 'refused', 'extended'] as const;
export type Status = (typeof STATUSES)[number];

/** Allowed transitions: from → the statuses it may move to. */
export const TRANSITIONS: Record<Status, readonly Status[]> = {
  received: ['planned', 'refused', 'completed'],
  planned: ['accepted', 'rejected', 'auto-accepted', 'extended', 'refused'],
  accepted: ['scheduled', 'extended'],
  'auto-accepted': ['scheduled', 'extended'],
  extended: ['accepted', 'rejected', 'scheduled', 'refused'],
  scheduled: ['running'],
  // A job re-run after a crash finds its requests running or verifying and carries on.
  running: ['verifying', 'failed'],
  verifying: ['completed', 'failed', 'running'],
  failed: ['scheduled', 'escalated', 'refused'],
  escalated: ['scheduled'],
  completed: [],
  rejected: [],
  refused: [],
};

/** Statuses a request never leaves. */
export const TERMINAL: readonly Status[] = ['completed', 'rejected', 'refused'];

const DAY_MS = 86_400_000;
/** GDPR Art. 12(3): "within one month", extendable "by two further months". */
export const ONE_MONTH_DAYS = 30;
export const MAX_EXTENSION_DAYS = 60;

/** Deadline of a request received at `receivedAt` under a policy deadline of `days` (default one month). */
export function deadlineOf(receivedAt: number, days = ONE_MONTH_DAYS): number {
  return receivedAt + days * DAY_MS;
}

/** The deadline in force: the extended one if any. */
export function effectiveDeadline(r: Pick<RequestRow, 'deadline_at' | 'extended_deadline_at'>): number {
  return r.extended_deadline_at ?? r.deadline_at;
}

/**
 * Check that a deadline extension is allowed: the request is not yet extended, it is still
 * within its first month, the reason is given and the extension is at most two months.
 * @throws UnlearnError CONFLICT (already extended or past the first month), INVALID_PARAMS (no reason, too long).
 */
export function checkExtension(r: Pick<RequestRow, 'received_at' | 'deadline_at' | 'extended_deadline_at'>, days: number, reason: string, now: number): number {
  if (r.extended_deadline_at !== null) throw new UnlearnError('CONFLICT', 'the deadline of this request was already extended', 'GDPR Art. 12(3) allows one extension');
  if (now > r.received_at + ONE_MONTH_DAYS * DAY_MS) throw new UnlearnError('CONFLICT', 'an extension must be told within the first month after receipt', 'complete or refuse the request instead');
  if (!reason.trim()) throw new UnlearnError('INVALID_PARAMS', 'an extension needs its reasons', 'say why the request is complex or numerous');
  if (!(days > 0 && days <= MAX_EXTENSION_DAYS)) throw new UnlearnError('INVALID_PARAMS', `an extension is 1..${MAX_EXTENSION_DAYS} days, not ${days}`, 'GDPR Art. 12(3) allows two further months');
  return r.deadline_at + days * DAY_MS;
}

/** Options of {@link transition}. */
export interface TransitionOptions {
  /** Who caused it: a token id, or `service` for the service itself. */
  actor: string;
  reason?: string;
  /** Further columns to set with the status. */
  patch?: Partial<Omit<RequestRow, 'id' | 'revision' | 'status'>>;
  /** Extra facts for the log entry (no personal data). */
  facts?: Record<string, unknown>;
  now?: number;
}

/**
 * Move a request to `to` within the caller's transaction: checks the transition is allowed,
 * updates the row if its revision is unchanged, and appends the log entry. Returns the updated
 * row and the entry's log index.
 * @throws UnlearnError CONFLICT for an illegal transition or when another writer changed the request first.
 */
export async function transition(ex: Executor, ledger: Ledger, r: RequestRow, to: Status, o: TransitionOptions): Promise<{ row: RequestRow; logIndex: number }> {
  const from = r.status as Status;
  if (!TRANSITIONS[from]?.includes(to)) {
    throw new UnlearnError('CONFLICT', `a ${from} request cannot become ${to}`, `allowed from ${from}: ${TRANSITIONS[from]?.join(', ') || 'nothing (final)'}`);
  }
  const now = o.now ?? Date.now();
  const patch = { ...o.patch, status: to, updated_at: now, ...(o.reason !== undefined && { reason: o.reason }) };
  if (!(await ledger.store.updateRequest(r.id, r.revision, patch, ex))) {
    throw new UnlearnError('CONFLICT', `request ${r.id} changed meanwhile`, 'read it again and retry');
  }
  const logIndex = await ledger.append(ex, { type: `request.${to}`, requestId: r.id, data: { from, to, actor: o.actor, ...(o.reason && { reason: o.reason }), ...o.facts } }, now);
  return { row: { ...r, ...patch, revision: r.revision + 1 } as RequestRow, logIndex };
}
