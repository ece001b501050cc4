// Key rotation on the real runtime (issue 6; SECURITY H2, H7): data written under key t1 is
// re-sealed under t2 by the operator command (`rxroom keys reseal`), resumably; afterwards t1 is
// retired and the live room's history and the archived room's export still read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT, startServer, call, makeIssuer, randomKey, tokenFactory, orderId, waitFor, parseExport,
  listFiles,
} from './harness.mjs';

const TENANT = 'pharmacy-1';
const K1 = randomKey();
const K2 = randomKey();
const OPERATOR_KEY = randomKey(32);
// Sorted so the registry lists the archived room first, then the live one.
const ARCHIVED = orderId('a-arch');
const LIVE = orderId('b-live');
const ARCHIVED_TEXTS = ['your order left the pharmacy', 'the driver is two stops away', 'delivered, thanks'];
const LIVE_TEXTS = ['refill is ready for pickup', 'can it come in the evening?'];
const RECORD = { patient_name: 'Test Patient', dob: null, mrn: null, member_id: null, medications: ['amlodipine'], phone: null };

let dir;
let work;
let keyFile;
let issuer;
let tok;
let base;
let srv;

const u = (order, rest = '') => `${srv.url}/v1/rooms/${order}${rest}`;

/** Vars shared by every start: the same issuer, audit and room-name keys on the same state. */
function vars(keys) {
  return {
    ENVIRONMENT: 'dev',
    REGION: 'us',
    AUTH_JWKS: issuer.jwks,
    AUDIT_SIGNING_KEY: base.audit,
    ROOM_NAME_KEY: base.roomName,
    DRIVER_TTL_SECS: '1',
    CLOSE_TTL_SECS: '2',
    ...keys,
  };
}

function reseal(args) {
  const r = spawnSync('cargo', ['run', '-q', '-p', 'rxroom-cli', '--', 'keys', 'reseal',
    '--base-url', srv.url, '--operator-key-file', keyFile, ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 600_000,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** `OK rooms=.. archives=.. resealed=.. already_current=.. failed=..` as numbers. */
function summary(stdout) {
  const line = stdout.split('\n').find((l) => /^(OK|FAILED) /.test(l));
  assert.ok(line, `no summary line in: ${stdout}`);
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map(([, k, v]) => [k, Number(v)]));
}

async function createRoom(order) {
  const participants = [
    { user: 'ph-1', role: 'pharmacist' },
    { user: 'dr-1', role: 'driver' },
    { user: 'pt-1', role: 'patient' },
  ];
  const r = await call(u(order), { method: 'POST', token: tok.pharmacist('ph-1', TENANT), body: { participants, record: RECORD } });
  assert.equal(r.status, 201, r.text);
}

async function sendAll(order, texts) {
  for (const [i, text] of texts.entries()) {
    const r = await call(u(order, '/messages'), {
      method: 'POST', token: tok.pharmacist('ph-1', TENANT), body: { client_id: `c-${i}`, text },
    });
    assert.equal(r.status, 201, r.text);
  }
}

before(async () => {
  issuer = makeIssuer();
  tok = tokenFactory(issuer);
  base = { audit: randomKey(), roomName: randomKey() };
  dir = mkdtempSync(join(tmpdir(), 'rxroom-reseal-state-'));
  work = mkdtempSync(join(tmpdir(), 'rxroom-reseal-'));
  keyFile = join(work, 'operator.key');
  writeFileSync(keyFile, `${OPERATOR_KEY}\n`, { mode: 0o600 });

  // 1. Everything written under t1: one room closed and archived, one live room.
  srv = await startServer({
    persistTo: dir,
    vars: vars({ DATA_KEYS: `t1:${K1}`, DATA_KEY_ACTIVE: 't1', OPERATOR_KEY }),
  });
  await createRoom(ARCHIVED);
  await sendAll(ARCHIVED, ARCHIVED_TEXTS);
  const d = await call(u(ARCHIVED, '/delivered'), { method: 'POST', token: tok.driver('dr-1', ARCHIVED), body: {} });
  assert.equal(d.status, 200, d.text);
  await createRoom(LIVE);
  await sendAll(LIVE, LIVE_TEXTS);
  // Archived once the room's storage is gone: the pharmacist's view no longer finds it.
  const gone = await waitFor(async () => {
    const r = await call(u(ARCHIVED), { token: tok.pharmacist('ph-1', TENANT) });
    return r.status === 403 ? r : null;
  }, 30_000, 500);
  assert.ok(gone, 'the closed room was archived');
  await srv.stop();

  // 2. t2 becomes active; t1 stays readable for the rotation.
  srv = await startServer({
    persistTo: dir,
    vars: vars({ DATA_KEYS: `t1:${K1},t2:${K2}`, DATA_KEY_ACTIVE: 't2', OPERATOR_KEY }),
  });
});

after(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

test('h7_reseal_refuses_a_missing_or_wrong_operator_key_and_bearer_tokens', async () => {
  const url = `${srv.url}/v1/admin/reseal`;
  const cases = [
    {},
    { authorization: `Operator ${randomKey(32)}` },
    { authorization: `Operator ${OPERATOR_KEY.slice(0, -4)}${OPERATOR_KEY.endsWith('AAA=') ? 'BBA=' : 'AAA='}` },
    { authorization: `Bearer ${tok.pharmacist('ph-1', TENANT)}` },
    { authorization: OPERATOR_KEY },
  ];
  for (const headers of cases) {
    const r = await call(url, { method: 'POST', headers, body: {} });
    assert.equal(r.status, 401, JSON.stringify(Object.keys(headers)));
    assert.deepEqual(Object.keys(r.json).sort(), ['code', 'message', 'request_id']);
    assert.equal(r.json.code, 'UNAUTHENTICATED');
    assert.ok(!r.text.includes(OPERATOR_KEY));
  }
  assert.equal((await call(url, { headers: { authorization: `Operator ${OPERATOR_KEY}` } })).status, 405);
  // The per-room op is not a public route, whatever headers a client sends.
  const direct = await call(u(LIVE, '/reseal'), {
    method: 'POST', headers: { authorization: `Operator ${OPERATOR_KEY}`, 'x-rxroom-operator': '1' }, body: {},
  });
  assert.equal(direct.status, 404);
  const bad = await call(url, { method: 'POST', headers: { authorization: `Operator ${OPERATOR_KEY}` }, body: { cursor: 'nowhere.x' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.code, 'INVALID_REQUEST');
  assert.ok(!srv.logs().includes(OPERATOR_KEY), 'the operator key is never logged');
});

test('h7_reseal_moves_rooms_and_archives_to_the_active_key_resumably', async () => {
  // One batch by hand: the first registered room (archived: its object holds no room data).
  const first = await call(`${srv.url}/v1/admin/reseal`, {
    method: 'POST', headers: { authorization: `Operator ${OPERATOR_KEY}` }, body: { limit: 1 },
  });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.phase, 'rooms');
  assert.equal(first.json.rooms, 1);
  assert.equal(first.json.cursor, `rooms.${ARCHIVED}`);
  assert.deepEqual([first.json.resealed, first.json.already_current, first.json.failed], [0, 0, 0]);

  // The CLI resumes from that cursor: the live room (record + 2 bodies), then the archive.
  const run = reseal(['--cursor', first.json.cursor, '--batch', '1']);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /cursor archives\./, 'the cursor is printed after each batch');
  const s = summary(run.stdout);
  assert.deepEqual(
    [s.rooms, s.archives, s.resealed, s.already_current, s.failed],
    [1, 1, 1 + LIVE_TEXTS.length + 1, 0, 0],
  );

  // A second full run finds everything under the active key already.
  const again = reseal([]);
  assert.equal(again.status, 0, again.stderr);
  const t = summary(again.stdout);
  assert.deepEqual(
    [t.rooms, t.archives, t.resealed, t.already_current, t.failed],
    [2, 1, 0, 1 + LIVE_TEXTS.length + 1, 0],
  );
  assert.ok(!run.stdout.includes(OPERATOR_KEY) && !run.stderr.includes(OPERATOR_KEY));

  // Every batch left a keys_resealed event in the region's chain, its counts as the target.
  const stored = () => listFiles(dir).map((f) => readFileSync(f).toString('latin1')).join('\n');
  const audited = await waitFor(() => {
    const all = stored();
    return all.includes(`rooms:1/resealed:${1 + LIVE_TEXTS.length}/current:0/failed:0`)
      && all.includes('archives:1/resealed:1/current:0/failed:0')
      && all.includes('keys_resealed');
  }, 10_000, 500);
  assert.ok(audited, 'keys_resealed events are in the region chain');
});

test('h2_after_retiring_the_old_key_rotated_rooms_and_archives_still_read', async () => {
  await srv.stop();
  // t1 is gone and retired: anything still sealed under it would fail with KEY_RETIRED.
  srv = await startServer({
    persistTo: dir,
    vars: vars({ DATA_KEYS: `t2:${K2}`, DATA_KEY_ACTIVE: 't2', DATA_KEYS_RETIRED: 't1', OPERATOR_KEY: ' ' }),
  });

  const view = await call(u(LIVE), { token: tok.pharmacist('ph-1', TENANT) });
  assert.equal(view.status, 200, view.text);
  assert.deepEqual(view.json.record, RECORD);
  const hist = await call(u(LIVE, '/messages?after=0&limit=100'), { token: tok.pharmacist('ph-1', TENANT) });
  assert.equal(hist.status, 200, hist.text);
  assert.deepEqual(hist.json.messages.map((m) => m.text), LIVE_TEXTS);

  const exp = await call(u(ARCHIVED, '/audit/export'), { token: tok.auditor('au-1', TENANT) });
  assert.equal(exp.status, 200, exp.text);
  const parsed = parseExport(exp.text);
  assert.deepEqual(parsed.messages.map((m) => m.text), ARCHIVED_TEXTS);
  assert.ok(parsed.events.some((e) => e.action === 'room_archived'));

  // Without an operator key the admin route is unavailable, the rest keeps working.
  const r = await call(`${srv.url}/v1/admin/reseal`, { method: 'POST', headers: { authorization: `Operator ${OPERATOR_KEY}` }, body: {} });
  assert.equal(r.status, 503);
  assert.equal(r.json.code, 'CONFIG_INVALID');
});
