// The dashboard in a real browser: playwright-core driving Debian's Chromium (/usr/bin/chromium,
// never a downloaded browser) against a service on the fixture models. The requester flow end to
// end (file, read the terms, accept, download and verify the certificate), a tampered certificate
// shown invalid, an operator accepting a plan, the overdue and near-deadline flags, the auditor's
// log verification. Screenshots of every page go to out/screenshots/. On SQLite, and on
// PostgreSQL (an own schema) too when UNLEARN_TEST_POSTGRES is set.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { fixtureModels, testService, waitFor } from '../testing.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'out', 'screenshots');
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const noBrowser = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install -y chromium): browser tests skipped`;
const PG = process.env.UNLEARN_TEST_POSTGRES;
const backends: { name: string; postgres?: string; skip: string | false; shots: boolean }[] = [
  { name: 'SQLite', skip: noBrowser, shots: true },
  { name: 'PostgreSQL', postgres: PG, skip: noBrowser || (PG ? false : 'UNLEARN_TEST_POSTGRES is not set: the PostgreSQL run of the browser tests skipped'), shots: false },
];

for (const backend of backends) describe(`dashboard in Chromium (${backend.name})`, { skip: backend.skip }, () => {
  let svc: Awaited<ReturnType<typeof testService>>;
  let browser: BrowserContext;
  let profile: string;
  let op: string;
  const offline: string[] = [];

  before(async () => {
    const m = await fixtureModels();
    svc = await testService(backend.postgres ? { postgres: backend.postgres } : {});
    op = await svc.token('operator');
    for (const [id, dir] of [['plain', m.plain], ['certified', m.certified]]) {
      const r = await svc.api('/v1/models', { method: 'POST', token: op, body: { id, dir } });
      assert.equal(r.status, 201, await r.text());
    }
    mkdirSync(SHOTS, { recursive: true });
    profile = mkdtempSync(join(tmpdir(), 'unlearn-chromium-'));
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ['--headless', ...FLAGS], viewport: { width: 1200, height: 900 }, acceptDownloads: true });
    // Every request the pages make must go to the service itself: no CDN, no external network.
    browser.on('request', (r) => {
      if (!r.url().startsWith(svc.url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) offline.push(r.url());
    });
  });
  after(async () => {
    await browser?.close();
    await svc?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function signIn(token: string, role: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(svc.url + '/');
    await page.getByLabel('Access token').fill(token);
    await page.keyboard.press('Enter'); // keyboard-usable: submit from the field
    await page.waitForURL(`${svc.url}/${role}`);
    await page.waitForSelector('body[data-ready="true"]');
    return page;
  }
  // The screenshots come from the SQLite run (the pages are the same on either database).
  const shot = async (page: Page, name: string) => void (backend.shots && (await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })));
  const file = async (token: string, subject: string, purpose: string) => ((await (await svc.api('/v1/deletion-requests', { method: 'POST', token, body: { subject, purpose, models: ['plain'] } })).json()) as { id: string }).id;
  const statusOf = async (id: string) => ((await (await svc.api(`/v1/deletion-requests/${id}`, { token: op })).json()) as { status: string }).status;

  test('sign-in page', async () => {
    const page = await browser.newPage();
    await page.goto(svc.url + '/');
    await page.waitForSelector('body[data-ready="true"]');
    await shot(page, 'signin');
    await page.getByLabel('Access token').fill('ul_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.includes('Sign-in failed'));
    await page.close();
  });

  test('requester: file, read the terms, accept, download the certificate and verify it; a tampered copy is invalid', async () => {
    const tok = await svc.token('requester', ['cps/10']);
    const page = await signIn(tok, 'requester');
    await page.getByLabel(/Your e-mail address/).fill('cps/10');
    await page.getByLabel('Purpose').selectOption('correction');
    await page.getByRole('button', { name: 'File request' }).click();
    await page.waitForFunction(() => document.getElementById('detail-status')?.textContent === 'planned', undefined, { timeout: 60_000 });
    const terms = await page.locator('#terms').innerText();
    assert.match(terms, /Proposed terms/);
    assert.match(terms, /approximate/i);
    await shot(page, 'requester-terms');
    await page.locator('#accept').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('detail-status')?.textContent === 'completed', undefined, { timeout: 120_000 });
    await page.waitForSelector('#download');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const jws = readFileSync((await dl.path())!, 'utf8');
    const id = (await page.locator('#my-requests tbody tr').first().getAttribute('data-id'))!;
    const api = (await (await svc.api(`/v1/deletion-requests/${id}/certificate`, { token: tok })).json()) as { certificate: string };
    assert.equal(jws, api.certificate, 'the download is the certificate');
    await page.click('#cert-verify');
    await page.waitForSelector('#cert-verdict');
    assert.equal(await page.locator('#cert-verdict').innerText(), 'VALID', await page.locator('#cert-result').innerText());
    // Both the bundled evidence and the live log (the requester's own records, their inclusion in the current tree, consistency since the certificate).
    const checks = await page.locator('#cert-result li').allInnerTexts();
    for (const name of ['signature (EdDSA, Ed25519)', 'log inclusion proof (RFC 9162)', 'signed tree head', 'current signed tree head', 'record in the live log', 'log only appended since the certificate', "this request's records in the live log"]) {
      assert.ok(checks.some((c) => c.startsWith(`✓ ${name}`)), `${name}: ${checks.join(' | ')}`);
    }
    await shot(page, 'requester-certificate');
    // One character of the payload changed: the signature no longer verifies.
    const [h, p, s] = jws.split('.');
    const i = Math.floor(p!.length / 2);
    const tampered = `${h}.${p!.slice(0, i)}${p![i] === 'A' ? 'B' : 'A'}${p!.slice(i + 1)}.${s}`;
    await page.getByLabel('Certificate (compact JWS)').last().fill(tampered);
    await page.click('#file-verify');
    await page.waitForSelector('#file-verdict');
    assert.equal(await page.locator('#file-verdict').innerText(), 'INVALID');
    assert.match(await page.locator('#file-result').innerText(), /signature/);
    await page.locator('#file-result').scrollIntoViewIfNeeded();
    await shot(page, 'requester-tampered');
    await page.close();
  });

  test('operator: requests by state with overdue and near-deadline flags, accepting a plan, queue, version graph, trade-off plot', async () => {
    // Three subjects the plain model was trained on (others complete at once with a no-data certificate).
    const subjects: string[] = [];
    for (let i = 11; subjects.length < 3 && i < 200; i++) {
      const v = (await (await svc.api(`/v1/subjects/cps%2F${i}/models`, { token: op })).json()) as { versions: { model: string }[] };
      if (v.versions.some((x) => x.model === 'plain')) subjects.push(`cps/${i}`);
    }
    const req = await svc.token('requester', subjects);
    const late = await file(req, subjects[0]!, 'correction');
    const soon = await file(req, subjects[1]!, 'correction');
    const toAccept = await file(req, subjects[2]!, 'correction');
    for (const id of [late, soon, toAccept]) await waitFor(async () => (await statusOf(id)) === 'planned', `${id} planned`);
    await svc.ctx.store.db.updateTable('deletion_requests').set({ deadline_at: Date.now() - 86_400_000 }).where('id', '=', late).execute();
    await svc.ctx.store.db.updateTable('deletion_requests').set({ deadline_at: Date.now() + 86_400_000 }).where('id', '=', soon).execute();
    const page = await signIn(op, 'operator');
    const row = (id: string) => page.locator(`tr[data-id="${id}"]`);
    assert.match(await row(late).innerText(), /OVERDUE/);
    assert.match(await row(soon).innerText(), /due soon/);
    assert.doesNotMatch(await row(toAccept).innerText(), /OVERDUE|due soon/);
    assert.match(await page.locator('#flag-summary').innerText(), /^1 overdue, 1 due within 3 days/);
    assert.match(await page.locator('main').innerText(), /Queue and workers[\s\S]*Backend: in-process/);
    assert.match(await page.locator('main').innerText(), /Model version graph[\s\S]*current/);
    await page.waitForSelector('#tradeoff');
    await shot(page, 'operator');
    await page.getByRole('button', { name: `Plans of ${toAccept}` }).click();
    await page.waitForSelector('#plan-status');
    assert.match(await page.locator('#plans').innerText(), /alternatives with their estimates/);
    await page.click('#accept-plan');
    await page.waitForFunction(() => document.getElementById('plan-status')?.textContent !== 'planned');
    await shot(page, 'operator-plan');
    assert.notEqual(await statusOf(toAccept), 'planned');
    await page.close();
  });

  test('auditor: signed tree head, the whole log verified in the browser, a certificate looked up', async () => {
    const aud = await svc.token('auditor');
    const page = await signIn(aud, 'auditor');
    assert.match(await page.locator('main').innerText(), /valid \(key/);
    await page.click('#verify-log');
    await page.waitForSelector('#log-verdict');
    assert.match(await page.locator('#log-verdict').innerText(), /^VALID: \d+ entries/);
    const done = (await svc.ctx.store.db.selectFrom('deletion_requests').select('id').where('certificate', 'is not', null).executeTakeFirstOrThrow()).id;
    await page.getByLabel('Request id').fill(done);
    await page.getByRole('button', { name: 'Look up and verify' }).click();
    await page.waitForSelector('#lookup-verdict');
    assert.equal(await page.locator('#lookup-verdict').innerText(), 'VALID');
    await shot(page, 'auditor');
    // An edited log entry is named.
    const e = await svc.ctx.store.db.selectFrom('log_entries').select(['idx', 'entry']).orderBy('idx').offset(2).limit(1).executeTakeFirstOrThrow();
    await svc.ctx.store.db.updateTable('log_entries').set({ entry: e.entry.replace('"type":"', '"type":"x') }).where('idx', '=', e.idx).execute();
    await page.click('#verify-log');
    await page.waitForFunction(() => document.getElementById('log-verdict')?.textContent === 'INVALID');
    assert.match(await page.locator('#log-result').innerText(), /entry 3: previous leaf hash/);
    await svc.ctx.store.db.updateTable('log_entries').set({ entry: e.entry }).where('idx', '=', e.idx).execute();
    await page.close();
    assert.deepEqual(offline, [], 'no request left the service');
  });
});
