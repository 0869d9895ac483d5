/**
 * `unlearn serve`, and the service's client and admin commands: `models register|list`,
 * `requests submit|list|show|accept|reject`, `tokens create|revoke`, and the store behind
 * `log verify` (src/cli/evidence.ts). Client
 * commands talk HTTP to a running service (`--url`, `--token` or env UNLEARN_URL/UNLEARN_TOKEN);
 * token commands and the log reader open the service's database directly (`--data-root`, `--database`).
 */
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { int } from './args.js';
import { EXIT_CODES, UnlearnError, type ErrorCode } from '../errors.js';
import { Store } from '../store/store.js';
import { createToken } from '../service/auth.js';
import { servicePseudonymKey, subjectPseudonym } from '../service/context.js';
import { resolveDataRoot } from '../service/evidence/keys.js';
import { setLogSource } from './evidence.js';
import { storeLogStorage } from '../service/ledger.js';
import { startService } from '../service/server.js';
import { runServiceDemo } from '../service/demo.js';
import type { SignedTreeHead } from '../service/evidence/log.js';

type Globals = { json?: boolean; quiet?: boolean };

/** HTTP call to the service; a problem+json answer becomes an UnlearnError with its code. */
async function call(o: { url?: string; token?: string }, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> {
  const url = (o.url ?? process.env.UNLEARN_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  const token = o.token ?? process.env.UNLEARN_TOKEN;
  if (!token) throw new UnlearnError('INVALID_ARGS', 'no token', 'pass --token or set UNLEARN_TOKEN (see `unlearn tokens create`)');
  let res: Response;
  try {
    res = await fetch(url + path, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new UnlearnError('IO_ERROR', `cannot reach the service at ${url}: ${(e as Error).message}`, 'start it with `unlearn serve` or pass --url');
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const code = (data?.code in EXIT_CODES ? data.code : 'IO_ERROR') as ErrorCode;
    throw new UnlearnError(code, `${res.status} ${data?.detail ?? res.statusText}${data?.field ? ` (${data.field})` : ''}`, data?.hint);
  }
  return data;
}

const clientOpts = (c: Command) => c.option('--url <url>', 'service URL (env UNLEARN_URL; default http://127.0.0.1:8080)').option('--token <token>', 'bearer token (env UNLEARN_TOKEN)');
const dbOpts = (c: Command) => c.option('--data-root <dir>', 'the service data root (env UNLEARN_HOME; default ~/.unlearn)').option('--database <url>', 'postgres://… (default: SQLite under the data root)');

async function openStoreOf(o: { dataRoot?: string; database?: string }): Promise<{ store: Store; dataRoot: string }> {
  const dataRoot = resolveDataRoot(o.dataRoot);
  return { store: await Store.open({ url: o.database ?? join(dataRoot, 'service.db') }), dataRoot };
}

/** Add the service commands to `program` (which defines --json and --quiet). */
export function addServiceCommands(program: Command): void {
  const g = () => program.opts<Globals>();
  const out = (value: unknown, text: string) => process.stdout.write(g().json ? JSON.stringify(value, null, 1) + '\n' : text + '\n');

  dbOpts(program.command('serve').description('run the deletion-request service (HTTP API, job runner, scheduler)'))
    .option('--port <n>', 'port', int, 8080)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--policy <file>', 'deletion policy (YAML or JSON; default examples/policy.yaml)')
    .addOption(new Option('--rate <n>', 'requests per second per token').argParser(int).default(50))
    .option('--queue <url>', 'dispatch jobs to `unlearn worker`s through Redis, redis://HOST:PORT (default: run them here)')
    .option('--queue-prefix <name>', 'BullMQ key prefix (the workers\' --prefix)', 'unlearn')
    .action(async (o: { dataRoot?: string; database?: string; port: number; host: string; policy?: string; rate: number; queue?: string; queuePrefix: string }) => {
      const svc = await startService({ dataRoot: resolveDataRoot(o.dataRoot), database: o.database, port: o.port, host: o.host, policyPath: o.policy, rate: { perSecond: o.rate, burst: 2 * o.rate }, queue: o.queue ? { url: o.queue, prefix: o.queuePrefix } : undefined });
      const stop = async () => {
        await svc.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await new Promise(() => undefined);
    });

  program
    .command('demo-service')
    .description('the deletion-request service on the demo spam filter: three senders, three purposes, certificates and the log verified')
    .option('--out <dir>', 'output directory', 'out/demo-service')
    .action(async (o: { out: string }) => {
      process.stdout.write((await runServiceDemo({ out: o.out })) + '\n');
    });

  const models = program.command('models').description('registered models of a running service');
  clientOpts(models.command('register').description('register a model directory as a version of a model (operator)'))
    .requiredOption('--id <id>', 'model id (lowercase slug)')
    .requiredOption('--dir <dir>', 'model directory (on the service host)')
    .option('--name <name>', 'display name')
    .action(async (o) => {
      const v = await call(o, 'POST', '/v1/models', { id: o.id, dir: o.dir, ...(o.name && { name: o.name }) });
      out(v, `${o.id}: version ${v.id.slice(0, 12)} (${v.format}, ${v.method}, ${v.examples} examples)${v.current ? ', current' : ''}`);
    });
  clientOpts(models.command('list').description('list registered models')).action(async (o) => {
    const ms = await call(o, 'GET', '/v1/models');
    out(ms, ms.map((m: any) => `${m.id.padEnd(20)} ${m.format.padEnd(22)} ${m.currentVersion?.slice(0, 12) ?? '-'}`).join('\n') || 'no models');
  });

  const requests = program.command('requests').description('deletion requests of a running service');
  clientOpts(requests.command('submit').description('file a deletion request'))
    .option('--subject <s>', 'data subject (address or s-… pseudonym)')
    .option('--ids <ids>', 'comma-separated example ids (operator)')
    .requiredOption('--purpose <p>', 'privacy | copyright | correction | bias | security')
    .option('--guarantee <g>', 'requested guarantee: exact | certified | approximate')
    .option('--models <ids>', 'comma-separated model ids (default: every model)')
    .option('--note <text>', 'free text')
    .option('--idempotency-key <key>', 'replay-safe key')
    .action(async (o) => {
      const body = { ...(o.subject && { subject: o.subject }), ...(o.ids && { exampleIds: String(o.ids).split(',') }), purpose: o.purpose, ...(o.guarantee && { requestedGuarantee: o.guarantee }), ...(o.models && { models: String(o.models).split(',') }), ...(o.note && { note: o.note }) };
      const r = await call(o, 'POST', '/v1/deletion-requests', body, o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : {});
      out(r, `${r.id} ${r.status}; deadline ${r.deadline}`);
    });
  clientOpts(requests.command('list').description('list deletion requests'))
    .option('--status <s>', 'filter by status')
    .option('--purpose <p>', 'filter by purpose')
    .option('--limit <n>', 'page size', int, 20)
    .option('--cursor <c>', 'next page cursor')
    .action(async (o) => {
      const q = new URLSearchParams({ limit: String(o.limit), ...(o.status && { status: o.status }), ...(o.purpose && { purpose: o.purpose }), ...(o.cursor && { cursor: o.cursor }) });
      const p = await call(o, 'GET', `/v1/deletion-requests?${q}`);
      out(p, [...p.items.map((r: any) => `${r.id} ${r.status.padEnd(13)} ${r.purpose.padEnd(10)} ${r.subject ?? `${r.exampleIds} ids`} deadline ${r.deadline.slice(0, 10)}`), ...(p.nextCursor ? [`next: --cursor ${p.nextCursor}`] : [])].join('\n') || 'no requests');
    });
  clientOpts(requests.command('show').description('show a request with its terms and plans').argument('<id>')).action(async (id: string, o) => {
    const r = await call(o, 'GET', `/v1/deletion-requests/${encodeURIComponent(id)}`);
    const lines = [`${r.id} ${r.status} (${r.purpose}); deadline ${r.extendedDeadline ?? r.deadline}`];
    if (r.terms) lines.push(`terms: ${r.terms.inWords}`);
    for (const p of r.plans) {
      lines.push(`  ${p.model}: ${p.method} (${p.guarantee}) est ${p.estimateSeconds.toFixed(2)} s${p.actualSeconds !== null ? `, actual ${p.actualSeconds.toFixed(2)} s` : ''} [${p.status}]`);
      for (const a of p.alternatives) lines.push(`      ${a.chosen ? '*' : ' '} ${a.path.padEnd(18)} ${a.estimateSeconds.toFixed(2).padStart(8)} s  ${a.meets ? 'meets' : 'does not meet'}`);
    }
    if (r.reason) lines.push(`reason: ${r.reason}`);
    out(r, lines.join('\n'));
  });
  for (const action of ['accept', 'reject'] as const) {
    clientOpts(requests.command(action).description(`${action} the proposed terms`).argument('<id>'))
      .option('--reason <text>', 'why')
      .action(async (id: string, o) => {
        const r = await call(o, 'POST', `/v1/deletion-requests/${encodeURIComponent(id)}/${action}`, o.reason ? { reason: o.reason } : {});
        out(r, `${r.id} ${r.status}`);
      });
  }

  const tokens = program.command('tokens').description('bearer tokens of the service (opens its database)');
  dbOpts(tokens.command('create').description('create a token; the secret is printed once'))
    .requiredOption('--role <role>', 'requester | operator | auditor')
    .option('--subject <s...>', 'subjects a requester token may act for (address or pseudonym)')
    .option('--label <text>', 'label')
    .option('--expires-days <n>', 'expiry in days', int)
    .action(async (o) => {
      const { store, dataRoot } = await openStoreOf(o);
      try {
        const key = await servicePseudonymKey(dataRoot);
        const subjects = (o.subject ?? []).map((s: string) => subjectPseudonym({ pseudonymKey: key }, s));
        const t = await createToken(store, { role: o.role, subjects, label: o.label, expiresAt: o.expiresDays ? Date.now() + o.expiresDays * 86_400_000 : undefined });
        out({ ...t, role: o.role, subjects }, `${t.secret}\n(id ${t.id}, role ${o.role}${subjects.length ? `, subjects ${subjects.join(' ')}` : ''}; shown once)`);
      } finally {
        await store.close();
      }
    });
  dbOpts(tokens.command('revoke').description('revoke a token by id').argument('<id>')).action(async (id: string, o) => {
    const { store } = await openStoreOf(o);
    try {
      if (!(await store.revokeToken(id, Date.now()))) throw new UnlearnError('INVALID_ARGS', `no active token ${id}`, 'give the id printed by `unlearn tokens create`');
      out({ id, revoked: true }, `revoked ${id}`);
    } finally {
      await store.close();
    }
  });

  // `unlearn log verify` (src/cli/evidence.ts) reads the service's log from its store.
  setLogSource(async (o) => {
    const { store } = await openStoreOf(o);
    try {
      const storage = storeLogStorage(store);
      return { entries: await storage.entries(0, await storage.size()), treeHeads: (await store.treeHeads()).map((r) => JSON.parse(r.signature) as SignedTreeHead) };
    } finally {
      await store.close();
    }
  });
}
