// The dashboard's pages: plain DOM over the service's JSON API, with the token of the signed-in
// user kept in sessionStorage (this tab only). Every control is a labelled form element or a
// button, reachable with the keyboard.
import { verifyAgainstLog, verifyCertificate, verifyLog, verifyTreeHead } from './verify.js';

const main = document.getElementById('main');
const TERMINAL = ['completed', 'rejected', 'refused'];
const DAY = 86_400_000;

function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false || v === null) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
const say = (msg) => (document.getElementById('status').textContent = msg);
const token = () => sessionStorage.getItem('unlearn.token');
const when = (iso) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—');
const secs = (s) => (s === null || s === undefined ? '—' : s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(1)} s`);

async function api(path, { method = 'GET', body } = {}) {
  const headers = { authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const type = res.headers.get('content-type') ?? '';
  const value = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new Error(value?.detail ?? value?.title ?? `HTTP ${res.status}`);
  return value;
}
const keys = () => fetch('/v1/keys').then((r) => r.json());

/** overdue | near | null for a request view. */
export function deadlineFlag(r, now = Date.now()) {
  if (TERMINAL.includes(r.status)) return null;
  const d = Date.parse(r.extendedDeadline ?? r.deadline);
  return d < now ? 'overdue' : d - now < 3 * DAY ? 'near' : null;
}
const flagEl = (r) => {
  const f = deadlineFlag(r);
  return f ? h('span', { class: `flag ${f}`, text: f === 'overdue' ? 'OVERDUE' : 'due soon' }) : null;
};
const table = (head, rows, caption) => h('table', {}, caption ? h('caption', { class: 'muted', text: caption }) : null, h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col', text: t })))), h('tbody', {}, rows));
const section = (title, ...kids) => h('section', { 'aria-labelledby': `h-${title.replace(/\W+/g, '-')}` }, h('h2', { id: `h-${title.replace(/\W+/g, '-')}`, text: title }), ...kids);
function field(label, control) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 8)}`;
  control.id = id;
  return h('div', {}, h('label', { for: id, text: label }), control);
}
function setSection(id, el) {
  const old = document.getElementById(id);
  el.id = id;
  if (old) old.replaceWith(el);
  else main.append(el);
}

function checksView(result, key) {
  return h(
    'div',
    { class: 'card', id: `${key}-result`, role: 'region', 'aria-label': 'verification result' },
    h('p', {}, 'Certificate: ', h('span', { class: result.ok ? 'valid' : 'invalid', id: `${key}-verdict`, text: result.ok ? 'VALID' : 'INVALID' })),
    h('ul', {}, result.checks.map((c) => h('li', {}, h('span', { class: c.ok === null ? 'muted' : c.ok ? 'valid' : 'invalid', text: c.ok === null ? '– ' : c.ok ? '✓ ' : '✗ ' }), `${c.name}: ${c.detail}`))),
    result.claims ? h('details', {}, h('summary', { text: 'Claims' }), h('pre', { class: 'mono', text: JSON.stringify(result.claims, null, 1) })) : null,
  );
}

/**
 * A certificate checked offline (signature, bundled record, inclusion proof, tree head) and,
 * when the service shows this user the request's log, against the live log too.
 */
async function verifyFully(jws, jwks) {
  const offline = await verifyCertificate(jws, jwks);
  if (!offline.claims?.requestId) return offline;
  let live;
  try {
    live = await api(`/v1/deletion-requests/${encodeURIComponent(offline.claims.requestId)}/log`);
  } catch (err) {
    // Not one of this user's requests (404) or the service is unreachable: the offline checks stand alone.
    return { ...offline, checks: [...offline.checks, { name: 'live log', ok: null, detail: `not checked (${err.message})` }] };
  }
  const online = await verifyAgainstLog(offline.claims, live, jwks);
  return { ok: offline.ok && online.ok, checks: [...offline.checks, ...online.checks], claims: offline.claims };
}

function verifier(key, prefill = '') {
  const ta = h('textarea', { id: `${key}-input`, spellcheck: 'false' });
  ta.value = prefill;
  const out = h('div', { id: `${key}-out` });
  return h(
    'form',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        out.replaceChildren(h('p', { class: 'muted', text: 'verifying…' }));
        out.replaceChildren(checksView(await verifyFully(ta.value.trim(), await keys()), key));
      },
    },
    field('Certificate (compact JWS)', ta),
    h('button', { type: 'submit', id: `${key}-verify`, text: 'Verify in this browser' }),
    out,
  );
}

function download(name, text) {
  const a = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'application/jose' })), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

// ---------------------------------------------------------------- sign in

function signin() {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' });
  main.append(
    h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          sessionStorage.setItem('unlearn.token', input.value.trim());
          try {
            const who = await api('/v1/whoami');
            location.href = `/${who.role}`;
          } catch (err) {
            sessionStorage.removeItem('unlearn.token');
            say(`Sign-in failed: ${err.message}`);
          }
        },
      },
      field('Access token', input),
      h('p', { id: 'token-help', class: 'muted', text: 'The ul_… token your operator gave you (`unlearn tokens create`). It stays in this tab.' }),
      h('button', { type: 'submit', text: 'Sign in' }),
    ),
  );
}

// ---------------------------------------------------------------- requester

async function requester() {
  const subject = h('input', { id: 'subject', required: true, autocomplete: 'email' });
  const purpose = h('select', { id: 'purpose' }, ['privacy', 'copyright', 'correction', 'bias', 'security'].map((p) => h('option', { value: p, text: p })));
  const note = h('input', { id: 'note' });
  main.append(
    section(
      'File a deletion request',
      h(
        'form',
        {
          id: 'file-form',
          onsubmit: async (e) => {
            e.preventDefault();
            try {
              const r = await api('/v1/deletion-requests', { method: 'POST', body: { subject: subject.value.trim(), purpose: purpose.value, ...(note.value && { note: note.value }) } });
              say(`Request ${r.id} received; deadline ${when(r.deadline)}`);
              await list();
              await open(r.id);
            } catch (err) {
              say(`Not filed: ${err.message}`);
            }
          },
        },
        field('Your e-mail address (the subject whose data should be deleted)', subject),
        field('Purpose', purpose),
        field('Note (optional)', note),
        h('button', { type: 'submit', text: 'File request' }),
      ),
    ),
  );
  let openId = null;
  let openStatus = null;
  let shown = '';
  async function list() {
    const page = await api('/v1/deletion-requests?limit=100');
    const text = JSON.stringify(page.items.map((r) => [r.id, r.status, r.deadline, r.extendedDeadline]));
    if (text === shown) return; // unchanged: keep the focus where it is
    shown = text;
    setSection(
      'my-requests',
      section(
        'My requests',
        page.items.length
          ? table(['Request', 'Filed', 'Status', 'Deadline', ''], page.items.map((r) => h('tr', { 'data-id': r.id }, h('td', { class: 'mono', text: r.id }), h('td', { text: when(r.receivedAt) }), h('td', { class: 'status', text: r.status }), h('td', {}, when(r.extendedDeadline ?? r.deadline), ' ', flagEl(r)), h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': `Open request ${r.id}`, onclick: () => open(r.id), text: 'Open' })))))
          : h('p', { class: 'muted', text: 'No requests yet.' }),
      ),
    );
  }
  async function open(id) {
    const r = await api(`/v1/deletion-requests/${id}`);
    openId = id;
    openStatus = r.status;
    const t = r.terms;
    const actions = [];
    if (r.status === 'planned') {
      actions.push(h('button', { type: 'button', id: 'accept', onclick: () => decide('accept'), text: 'Accept these terms' }));
      actions.push(h('button', { type: 'button', id: 'reject', class: 'secondary', onclick: () => decide('reject'), text: 'Reject' }));
    }
    let cert = null;
    if (r.hasCertificate) {
      cert = (await api(`/v1/deletion-requests/${id}/certificate`)).certificate;
      actions.push(h('button', { type: 'button', id: 'download', onclick: () => download(`${id}.jws`, cert), text: 'Download certificate' }));
    }
    setSection(
      'detail',
      section(
        `Request ${id}`,
        h('p', {}, 'Status: ', h('strong', { id: 'detail-status', text: r.status }), ` · deadline ${when(r.extendedDeadline ?? r.deadline)} `, flagEl(r)),
        r.reason ? h('p', { text: `Reason: ${r.reason}` }) : null,
        t
          ? h(
              'div',
              { class: 'card', id: 'terms' },
              h('h3', { text: 'Proposed terms' }),
              h('p', { text: t.inWords }),
              h('ul', {}, (t.models ?? []).map((m) => h('li', { text: `${m.model}: ${m.inWords} (${m.examples} example${m.examples === 1 ? '' : 's'}, ${m.method})` }))),
              h('p', { class: 'muted', text: `Expected completion ${when(t.estimatedCompletion)}${t.withinDeadline ? ', within the deadline' : ', AFTER the deadline'}.${t.acceptedAt ? ` Accepted ${when(t.acceptedAt)} by ${t.acceptedBy}.` : ''}` }),
            )
          : h('p', { class: 'muted', text: r.status === 'received' ? 'The service is preparing its proposal.' : '' }),
        h('div', {}, actions),
        cert ? h('div', { class: 'card' }, h('h3', { text: 'Certificate' }), verifier('cert', cert)) : null,
      ),
    );
  }
  async function decide(action) {
    try {
      await api(`/v1/deletion-requests/${openId}/${action}`, { method: 'POST' });
      say(`Terms ${action}ed`);
      await list();
      await open(openId);
    } catch (err) {
      say(`${action} failed: ${err.message}`);
    }
  }
  main.append(section('Verify a certificate file', verifier('file')));
  await list();
  setInterval(async () => {
    if (document.hidden) return;
    await list().catch(() => undefined);
    if (openId) {
      const r = await api(`/v1/deletion-requests/${openId}`).catch(() => null);
      if (r && r.status !== openStatus) await open(openId);
    }
  }, 1500);
}

// ---------------------------------------------------------------- operator

async function operator() {
  const page = await api('/v1/deletion-requests?limit=100');
  const byState = {};
  for (const r of page.items) (byState[r.status] ??= []).push(r);
  const flagged = page.items.filter((r) => deadlineFlag(r));
  main.append(
    section(
      'Requests by state',
      h('p', {}, Object.entries(byState).map(([s, rs]) => h('span', { class: 'card', style: 'display:inline-block;margin-right:.5rem', text: `${s}: ${rs.length}` }))),
      h('p', { id: 'flag-summary', text: `${flagged.filter((r) => deadlineFlag(r) === 'overdue').length} overdue, ${flagged.filter((r) => deadlineFlag(r) === 'near').length} due within 3 days` }),
      table(
        ['Request', 'Purpose', 'State', 'Deadline', 'Plan', ''],
        page.items.map((r) =>
          h(
            'tr',
            { 'data-id': r.id },
            h('td', { class: 'mono', text: r.id }),
            h('td', { text: r.purpose }),
            h('td', { class: 'status', text: r.status }),
            h('td', {}, when(r.extendedDeadline ?? r.deadline), ' ', flagEl(r)),
            h('td', { text: r.plans.map((p) => `${p.model}: ${p.method} (est. ${secs(p.estimateSeconds)}, actual ${secs(p.actualSeconds)})`).join('; ') || '—' }),
            h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': `Plans of ${r.id}`, onclick: () => plans(r.id), text: 'Plans' })),
          ),
        ),
      ),
    ),
  );
  async function plans(id) {
    const r = await api(`/v1/deletion-requests/${id}`);
    const act = async (a) => {
      try {
        await api(`/v1/deletion-requests/${id}/${a}`, { method: 'POST', body: { reason: `operator ${a}ed the plan` } });
        say(`Plan ${a}ed`);
        await plans(id);
      } catch (err) {
        say(`${a} failed: ${err.message}`);
      }
    };
    setSection(
      'plans',
      section(
        `Plans of ${id}`,
        h('p', {}, 'State: ', h('strong', { id: 'plan-status', text: r.status }), r.terms?.inWords ? ` · ${r.terms.inWords}` : ''),
        r.status === 'planned' ? h('div', {}, h('button', { type: 'button', id: 'accept-plan', onclick: () => act('accept'), text: 'Accept plan' }), h('button', { type: 'button', class: 'secondary', onclick: () => act('reject'), text: 'Reject plan' })) : null,
        r.plans.map((p) =>
          h(
            'div',
            { class: 'card' },
            h('p', { text: `${p.model} · version ${p.version.slice(0, 16)}… · chosen ${p.method} (${p.guarantee}) · estimate ${secs(p.estimateSeconds)} · actual ${secs(p.actualSeconds)} · ${p.status}` }),
            table(['Path', 'Method', 'Guarantee', 'Estimate', 'Meets policy', 'Why'], (p.alternatives ?? []).map((c) => h('tr', {}, h('td', { text: `${c.path}${c.chosen ? ' (chosen)' : ''}${c.failed ? ' (failed)' : ''}` }), h('td', { text: c.method }), h('td', { text: c.guarantee?.kind ?? '' }), h('td', { text: secs(c.estimateSeconds) }), h('td', { text: c.meets ? 'yes' : 'no' }), h('td', { class: 'muted', text: c.why ?? '' }))), 'alternatives with their estimates'),
          ),
        ),
      ),
    );
    document.getElementById('plans').scrollIntoView();
  }

  const q = await api('/v1/queue');
  main.append(
    section(
      'Queue and workers',
      h('p', { text: `Backend: ${q.backend}. Job table: ${Object.entries(q.table.counts).map(([s, n]) => `${s} ${n}`).join(', ') || 'empty'}.` }),
      q.bullmq?.queues
        ? table(['Queue', 'Waiting', 'Active', 'Delayed', 'Failed', 'Workers', 'Active jobs (progress)'], q.bullmq.queues.map((x) => h('tr', {}, h('td', { text: x.name }), h('td', { text: x.counts.waiting }), h('td', { text: x.counts.active }), h('td', { text: x.counts.delayed }), h('td', { text: x.counts.failed }), h('td', { text: x.workers.map((w) => w.name).join(', ') || 'none' }), h('td', { text: x.active.map((j) => `${j.name} ${j.progress}%`).join(', ') || '—' }))))
        : q.bullmq?.error
          ? h('p', { class: 'invalid', text: q.bullmq.error })
          : null,
      table(['Job', 'Kind', 'Status', 'Attempts', 'Lease owner', 'Updated'], q.table.recent.slice(0, 15).map((j) => h('tr', {}, h('td', { class: 'mono', text: j.id }), h('td', { text: j.kind }), h('td', { text: j.status }), h('td', { text: `${j.attempts}/${j.max_attempts}` }), h('td', { class: 'mono', text: j.lease_owner ?? '—' }), h('td', { text: when(j.updated_at) }))), 'recent jobs'),
    ),
  );

  const models = await api('/v1/models');
  const graphs = await Promise.all(models.map((m) => api(`/v1/models/${encodeURIComponent(m.id)}/versions`)));
  const tree = (g, parent) => {
    const kids = g.versions.filter((v) => (parent ? v.parent === parent : !g.versions.some((w) => w.id === v.parent)));
    return kids.length ? h('ul', {}, kids.map((v) => h('li', {}, h('span', { class: v.supersededBy ? 'superseded' : '', text: `${v.id.slice(0, 16)}… ${v.method ?? 'original'} (${v.guarantee ?? '—'}, ${v.examples} examples)` }), v.current ? h('strong', { text: ' ← current' }) : null, v.supersededBy ? h('span', { class: 'muted', text: ` superseded${v.weightsDeleted ? ', weights deleted' : ''}` }) : null, tree(g, v.id)))) : null;
  };
  const subj = h('input', { id: 'lookup-subject' });
  const found = h('div', { id: 'subject-versions' });
  main.append(
    section(
      'Model version graph',
      models.length ? graphs.map((g, i) => h('div', { class: 'card tree' }, h('h3', { text: `${models[i].name ?? models[i].id} (${models[i].format})` }), tree(g, null))) : h('p', { class: 'muted', text: 'No models registered.' }),
      h(
        'form',
        {
          onsubmit: async (e) => {
            e.preventDefault();
            const r = await api(`/v1/subjects/${encodeURIComponent(subj.value.trim())}/models`).catch((err) => ({ error: err.message }));
            found.replaceChildren(r.error ? h('p', { class: 'invalid', text: r.error }) : table(['Model', 'Version', 'Examples', 'Superseded by'], r.versions.map((v) => h('tr', {}, h('td', { text: v.model }), h('td', { class: 'mono', text: v.version }), h('td', { text: v.examples }), h('td', { class: 'mono', text: v.supersededBy ?? '—' }))), `versions holding ${r.subject}`));
          },
        },
        field('Which versions contain this subject?', subj),
        h('button', { type: 'submit', text: 'Look up' }),
        found,
      ),
    ),
  );
  const svg = await api('/v1/plots/tradeoff.svg').catch(() => null);
  main.append(section('Trade-off: forgetting × utility × cost', svg ? h('img', { id: 'tradeoff', src: URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' })), alt: 'Scatter plot of completed deletions: actual cost against test accuracy, coloured by forget accuracy, shaped by method' }) : h('p', { class: 'muted', text: 'No plot.' })));
}

// ---------------------------------------------------------------- auditor

async function auditor() {
  const jwks = await keys();
  const head = await api('/v1/log/tree-head');
  const th = await verifyTreeHead(head, jwks);
  const logOut = h('div', { id: 'log-result', 'aria-live': 'polite' });
  const reqId = h('input', { id: 'lookup-id' });
  const certOut = h('div', { id: 'lookup-out' });
  main.append(
    section(
      'Signed tree head',
      table(['Tree size', 'Root hash', 'Signed at', 'Signature'], [h('tr', {}, h('td', { id: 'tree-size', text: head.treeSize }), h('td', { class: 'mono', text: head.rootHash }), h('td', { text: when(head.timestamp) }), h('td', {}, h('span', { class: th.ok ? 'valid' : 'invalid', text: th.ok ? `valid (key ${th.kid})` : `INVALID: ${th.problem}` })))]),
    ),
    section(
      'Verify the whole log',
      h('p', { class: 'muted', text: 'Downloads every record, recomputes the hash chain and the RFC 9162 Merkle root in this browser, and compares it with the signed tree head.' }),
      h(
        'button',
        {
          type: 'button',
          id: 'verify-log',
          onclick: async () => {
            logOut.textContent = 'verifying…';
            const { records } = await api('/v1/log/records');
            const r = await verifyLog(records, await api('/v1/log/tree-head'), jwks);
            logOut.replaceChildren(h('p', {}, h('span', { class: r.ok ? 'valid' : 'invalid', id: 'log-verdict', text: r.ok ? `VALID: ${r.size} entries` : 'INVALID' })), r.problems.length ? h('ul', {}, r.problems.map((p) => h('li', { text: p }))) : null);
          },
          text: 'Verify the log',
        },
      ),
      logOut,
    ),
    section(
      'Look up a certificate',
      h(
        'form',
        {
          onsubmit: async (e) => {
            e.preventDefault();
            try {
              const { certificate } = await api(`/v1/deletion-requests/${encodeURIComponent(reqId.value.trim())}/certificate`);
              certOut.replaceChildren(checksView(await verifyFully(certificate, jwks), 'lookup'));
            } catch (err) {
              certOut.replaceChildren(h('p', { class: 'invalid', text: err.message }));
            }
          },
        },
        field('Request id', reqId),
        h('button', { type: 'submit', text: 'Look up and verify' }),
        certOut,
      ),
    ),
  );
}

// ---------------------------------------------------------------- boot

const pages = { signin, requester, operator, auditor };
const which = document.body.dataset.page;
(async () => {
  if (which !== 'signin') {
    if (!token()) return void (location.href = '/');
    try {
      const who = await api('/v1/whoami');
      document.getElementById('who').textContent = `signed in as ${who.role}`;
      const out = document.getElementById('signout');
      out.hidden = false;
      out.onclick = () => (sessionStorage.removeItem('unlearn.token'), (location.href = '/'));
    } catch (err) {
      say(`Sign in again: ${err.message}`);
      return;
    }
  }
  try {
    await pages[which]();
    document.body.dataset.ready = 'true';
  } catch (err) {
    say(`Error: ${err.message}`);
    main.append(h('p', { class: 'invalid', role: 'alert', text: err.message }));
  }
})();
