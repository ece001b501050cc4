// Adversarial live sockets through the real runtime (SECURITY B7, D3, D4, F4, J1, J3, J9):
// unauthenticated socket floods, refusals over the first-frame path that leave no audit trace,
// cursors from the future, the auditor's socket, and a restart while a socket is sending.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startTestServer, call, orderId, openSocket, sleep, makeIssuer } from './harness.mjs';

let srv;
let tok;
const TENANT = 'pharmacy-1';
const ORDER = orderId('adv-live');
const u = (order, rest = '') => `${srv.url}/v1/rooms/${order}${rest}`;
const live = (order, q = '') => `${srv.wsUrl}/v1/rooms/${order}/live${q}`;
const ph = () => tok.pharmacist('ph-1', TENANT);
const pt = (order = ORDER) => tok.patient('pt-1', order);
const viaProtocol = (order, token, q = '') => openSocket(live(order, q), { protocols: ['rxroom.v1', `bearer.${token}`] });

before(async () => {
  ({ srv, tok } = await startTestServer({ WS_AUTH_TIMEOUT_SECS: '3' }));
  const r = await call(u(ORDER), { method: 'POST', token: ph(), body: { participants: [{ user: 'pt-1', role: 'patient' }, { user: 'dr-1', role: 'driver' }], record: {} } });
  assert.equal(r.status, 201, r.text);
  assert.equal((await call(u(ORDER, '/messages'), { method: 'POST', token: ph(), body: { client_id: 'seed-1', text: 'hello' } })).status, 201);
});
after(async () => { await srv?.stop(); });

/** Rows of the region audit log (AuditLog object) and tables of the room objects, via python3. */
function inspectState(t) {
  const py = `
import sqlite3, glob, json, sys
events, rooms = [], []
for kind in ('AuditLog', 'ChatRoom'):
    for f in glob.glob(sys.argv[1] + '/v3/do/rxroom-' + kind + '/*.sqlite'):
        if f.endswith('metadata.sqlite'): continue
        c = sqlite3.connect('file:' + f + '?mode=ro', uri=True)
        names = sorted(r[0] for r in c.execute("select name from sqlite_master where type='table'"))
        if kind == 'AuditLog' and 'audit_outbox' in names:
            events += [json.loads(r[0]) for r in c.execute('select event from audit_outbox order by seq')]
        if kind == 'ChatRoom':
            rooms.append([n for n in names if n != '__miniflare_do_name'])
print(json.dumps({'events': events, 'rooms': rooms}))
`;
  const r = spawnSync('python3', ['-c', py, srv.dir], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) { t.skip('python3 sqlite3 not available'); return null; }
  return JSON.parse(r.stdout);
}

test('d3_unauthenticated_sockets_on_one_room_are_capped', async () => {
  // No token at all: 150 upgrades on one room each hold a socket (and the room's object) for
  // the auth timeout, and can be renewed forever. D3 asks for per-room connection caps.
  const N = 150;
  const socks = await Promise.all(Array.from({ length: N }, () => openSocket(live(ORDER)).then((s) => s, (e) => e)));
  const opened = socks.filter((s) => !(s instanceof Error));
  await sleep(300);
  const alive = opened.filter((s) => s.ws.readyState === 1).length;
  for (const s of opened) s.terminate();
  assert.ok(alive < N, `all ${alive} of ${N} unauthenticated sockets were accepted and held open`);
});

test('b7_an_unauthenticated_socket_on_a_missing_room_leaves_no_storage', { todo: 'design limitation: the login-deadline alarm of a waiting socket is stored (docs/ARCHITECTURE.md, Storage)' }, async (t) => {
  // ARCHITECTURE: "a request for a room that does not exist leaves no storage behind", and
  // "an invalid token never instantiates an object". A socket with no token at all does both:
  // it wakes the object for any order id and writes an alarm into its storage.
  const before = inspectState(t);
  if (!before) return;
  const missing = Array.from({ length: 5 }, () => orderId('ghost'));
  for (const o of missing) {
    const s = await openSocket(live(o));
    await s.closed(10_000);
  }
  await sleep(500);
  const state = inspectState(t);
  const withStorage = (st) => st.rooms.filter((names) => names.length > 0 && !names.includes('meta')).length;
  assert.equal(withStorage(state), withStorage(before), `room objects with storage but no room: ${JSON.stringify(state.rooms.filter((n) => n.length && !n.includes('meta')))}`);
});

test('f4_refusals_over_the_first_frame_path_are_audited_like_the_header_path', async (t) => {
  const baseline = inspectState(t);
  if (!baseline) return;
  const count = (st, action, actor) => st.events.filter((e) => e.action === action && (actor === undefined || e.actor === actor)).length;
  // Header path (control): a bad token and an outsider are both chained in the region log.
  const foreign = makeIssuer().token({ sub: 'ph-1', role: 'pharmacist', tenant: TENANT });
  await viaProtocol(ORDER, foreign).then((s) => s.terminate(), () => null);
  await viaProtocol(ORDER, tok.driver('dr-out', ORDER)).then((s) => s.terminate(), () => null);
  await sleep(300);
  const mid = inspectState(t);
  assert.equal(count(mid, 'token_refused') - count(baseline, 'token_refused'), 1, 'header path: token refused');
  assert.equal(count(mid, 'access_forbidden', 'dr-out') - count(baseline, 'access_forbidden', 'dr-out'), 1, 'header path: outsider');
  // First-frame path: the same two refusals.
  let s = await openSocket(live(ORDER));
  s.send({ type: 'auth', token: foreign });
  assert.equal((await s.closed()).code, 4401);
  s = await openSocket(live(ORDER));
  s.send({ type: 'auth', token: tok.driver('dr-out2', ORDER) });
  assert.equal((await s.closed()).code, 4003);
  await sleep(300);
  const end = inspectState(t);
  const missing = [];
  if (count(end, 'token_refused') - count(mid, 'token_refused') !== 1) missing.push('token_refused for a bad auth frame');
  if (count(end, 'access_forbidden', 'dr-out2') !== 1) missing.push('access_forbidden for an outsider auth frame');
  assert.deepEqual(missing, [], 'refusals over the first frame leave no audit event');
});

test('d4_a_future_cursor_in_the_auth_frame_is_not_answered_forbidden', async () => {
  // Over the header path a cursor beyond the last message is 400 INVALID_REQUEST; over the first
  // frame the same member gets 4003 FORBIDDEN, as if their access had been revoked.
  const head = (await call(u(ORDER), { token: ph() })).json.last_seq;
  const h = await viaProtocol(ORDER, pt(), `?last_seq=${head + 50}`).then((s) => { s.terminate(); return null; }, (e) => e);
  assert.equal(h?.status, 400, 'header path control');
  const s = await openSocket(live(ORDER));
  s.send({ type: 'auth', token: pt(), last_seq: head + 50 });
  const c = await s.closed(4000).catch(() => null); // an error frame or a ready frame keeps it open
  s.terminate();
  assert.notEqual(c?.code, 4003, `a member with a stale client cursor is told ${c?.code} ${c?.reason}; frames ${JSON.stringify(s.frames)}`);
});

test('what held: an auditor gets no live socket over either path', async () => {
  const a = tok.auditor('au-1', TENANT);
  const h = await viaProtocol(ORDER, a).then((s) => { s.terminate(); return null; }, (e) => e);
  assert.equal(h?.status, 403);
  assert.equal(h.json?.code, 'FORBIDDEN');
  const s = await openSocket(live(ORDER));
  s.send({ type: 'auth', token: a });
  const c = await s.closed();
  assert.equal(c.code, 4003);
  assert.equal(s.frames.filter((f) => f.type === 'message' || f.type === 'ready').length, 0);
});

test('what held: j1_j3_a_restart_while_a_socket_sends: acked frames survive once, retries dedupe', async () => {
  const order = orderId('ws-restart');
  let r = await call(u(order), { method: 'POST', token: ph(), body: { participants: [{ user: 'pt-1', role: 'patient' }], record: {} } });
  assert.equal(r.status, 201, r.text);
  const N = 30;
  const s = await viaProtocol(order, pt(order));
  await s.next('ready');
  const acks = new Map();
  const collect = () => { for (const f of s.drain((x) => x.type === 'ack')) acks.set(f.id, f); };
  let restarting;
  for (let i = 0; i < N; i++) {
    try { s.send({ type: 'send', client_id: `w-${i}`, text: `frame ${i}` }); } catch { /* socket gone */ }
    if (i === 10) restarting = srv.restart();
    await sleep(120); // under the 10 frames/s limit
    collect();
  }
  await restarting;
  collect();
  s.terminate();
  // Every acked message is stored once with its acked sequence.
  const all = async () => (await call(u(order, '/messages?after=0&limit=100'), { token: ph() })).json.messages;
  let msgs = await all();
  for (const [id, ack] of acks) {
    const m = msgs.filter((x) => x.id === id);
    assert.equal(m.length, 1, `acked ${id} stored once`);
    assert.equal(m[0].seq, ack.seq);
  }
  // The client reconnects and resends everything (acked or not) over a new socket.
  const s2 = await viaProtocol(order, pt(order));
  await s2.next('ready');
  for (let i = 0; i < N; i++) {
    s2.send({ type: 'send', client_id: `w-${i}`, text: `frame ${i}` });
    const ack = await s2.next((f) => (f.type === 'ack' && f.id === `w-${i}`) || f.type === 'error', 5000);
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    if (acks.has(`w-${i}`)) assert.deepEqual(ack, acks.get(`w-${i}`), `w-${i} keeps its ack`);
    await sleep(110);
  }
  s2.close();
  msgs = await all();
  assert.equal(msgs.length, N);
  assert.deepEqual(msgs.map((m) => m.seq), Array.from({ length: N }, (_, i) => i + 1));
  assert.equal(new Set(msgs.map((m) => m.id)).size, N);
  assert.ok(acks.size > 0, 'some frames were acked before the restart');
});

test('f4_actions_over_a_first_frame_socket_are_audited_with_the_source_ip_like_the_header_path', async () => {
  // The upgrade request carries the client IP for both paths; only the header path keeps it.
  const order = orderId('ws-ip');
  const r = await call(u(order), { method: 'POST', token: ph(), body: { participants: [{ user: 'pt-1', role: 'patient' }, { user: 'dr-1', role: 'driver' }], record: {} } });
  assert.equal(r.status, 201, r.text);
  const a = await viaProtocol(order, pt(order));
  await a.next('ready');
  a.send({ type: 'send', client_id: 'hdr-1', text: 'over the header socket' });
  await a.next('ack');
  const b = await openSocket(live(order));
  b.send({ type: 'auth', token: tok.driver('dr-1', order) });
  await b.next('ready');
  b.send({ type: 'send', client_id: 'frm-1', text: 'over the frame socket' });
  await b.next('ack');
  a.close(); b.close();
  const e = await call(u(order, '/audit/export'), { token: tok.auditor('au-1', TENANT) });
  assert.equal(e.status, 200, e.text);
  const events = e.text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.type === 'event');
  const header = events.filter((x) => x.actor === 'pt-1');
  const frame = events.filter((x) => x.actor === 'dr-1');
  assert.ok(header.length >= 2 && header.every((x) => x.ip !== null), 'control: header-path events carry the (sealed) IP');
  assert.deepEqual(frame.filter((x) => x.ip === null).map((x) => x.action), [], 'first-frame events without the source IP');
});
