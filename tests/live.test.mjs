// Live sockets through the real runtime (issue 5; SECURITY B1, B3, D1, D2, D3, D4, D6, D7):
// both ways to authenticate, role-rendered fan-out, resume by sequence, the auth deadline,
// frame size and rate limits, typing, the driver's end of access and automatic logoff.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, call, orderId, openSocket, sleep } from './harness.mjs';

let srv;
let tok;
const TENANT = 'pharmacy-1';
const ORDER = orderId('live');
const RECORD = { patient_name: 'Maria Haddad', dob: '1961-04-02', medications: ['amlodipine'] };
const PHI_TEXT = 'Maria Haddad, your amlodipine is at 12 Oak Street, gate code 4455.';
const u = (order, rest = '') => `${srv.url}/v1/rooms/${order}${rest}`;
const live = (order, q = '') => `${srv.wsUrl}/v1/rooms/${order}/live${q}`;
const ph = () => tok.pharmacist('ph-1', TENANT);
const dr = (order = ORDER) => tok.driver('dr-1', order);
const pt = () => tok.patient('pt-1', ORDER);
const viaProtocol = (order, token, q = '') => openSocket(live(order, q), { protocols: ['rxroom.v1', `bearer.${token}`] });
async function viaFrame(order, token, last_seq = 0) {
  const s = await openSocket(live(order));
  s.send({ type: 'auth', token, last_seq });
  return s;
}
async function createRoom(order, participants, record = {}) {
  const r = await call(u(order), { method: 'POST', token: ph(), body: { participants, record } });
  assert.equal(r.status, 201, r.text);
}
const send = (order, token, client_id, text) =>
  call(u(order, '/messages'), { method: 'POST', token, body: { client_id, text } });

before(async () => {
  ({ srv, tok } = await startTestServer({
    WS_AUTH_TIMEOUT_SECS: '2', IDLE_LOGOFF_SECS: '5', DRIVER_TTL_SECS: '3', CLOSE_TTL_SECS: '3600',
  }));
  await createRoom(ORDER, [{ user: 'dr-1', role: 'driver' }, { user: 'pt-1', role: 'patient' }], RECORD);
});
after(async () => { await srv?.stop(); });

test('subprotocol auth selects rxroom.v1 and sends ready; first-frame auth works too', async () => {
  const a = await viaProtocol(ORDER, ph());
  assert.equal(a.protocol, 'rxroom.v1', 'server selects rxroom.v1, never the bearer entry');
  const ra = await a.next('ready');
  assert.equal(ra.complete, true);
  const b = await viaFrame(ORDER, dr());
  const rb = await b.next('ready');
  assert.equal(rb.last_seq, ra.last_seq);
  a.close(); b.close();
});

test('fan-out: an HTTP message reaches the driver redacted and the pharmacist and patient in full', async () => {
  const p = await viaProtocol(ORDER, ph());
  const d = await viaFrame(ORDER, dr());
  const q = await viaProtocol(ORDER, pt());
  await Promise.all([p.next('ready'), d.next('ready'), q.next('ready')]);
  const r = await send(ORDER, ph(), 'fan-1', PHI_TEXT);
  assert.equal(r.status, 201, r.text);
  // Matched by seq: the driver's frame carries m-<seq>, never the sender's client id.
  const isIt = (f) => f.type === 'message' && f.seq === r.json.seq;
  const [fp, fd, fq] = await Promise.all([p.next(isIt), d.next(isIt), q.next(isIt)]);
  assert.equal(fp.text, PHI_TEXT);
  assert.equal(fq.text, PHI_TEXT);
  assert.equal(fp.seq, r.json.seq);
  for (const hidden of ['amlodipine', 'Haddad']) assert.ok(!fd.text.includes(hidden), `driver frame: ${fd.text}`);
  for (const kept of ['Maria', '12 Oak Street', '4455']) assert.ok(fd.text.includes(kept), `driver frame: ${fd.text}`);
  assert.ok(!JSON.stringify(fd).includes('amlodipine'));
  assert.equal(fp.id, 'fan-1');
  assert.equal(fd.id, `m-${r.json.seq}`);

  // A socket send: the sender gets an ack (no echo), the others get the message.
  q.send({ type: 'send', client_id: 'fan-2', text: 'thanks!' });
  const ack = await q.next('ack');
  assert.equal(ack.id, 'fan-2');
  assert.equal(ack.seq, r.json.seq + 1);
  const isTwo = (f) => f.type === 'message' && f.seq === ack.seq;
  const [m1, m2] = await Promise.all([p.next(isTwo), d.next(isTwo)]);
  assert.equal(m1.seq, ack.seq);
  assert.equal(m2.sender, 'pt-1');
  await sleep(300);
  assert.equal(q.drain(isTwo).length, 0, 'no echo to the sender');

  // Typing reaches the others, not the typist, and is not stored.
  d.send({ type: 'typing', active: true });
  const t = await p.next('typing');
  assert.deepEqual(t, { type: 'typing', user: 'dr-1', role: 'driver', active: true });
  await q.next('typing');
  await sleep(200);
  assert.equal(d.drain((f) => f.type === 'typing').length, 0);

  // Read receipts over the socket reach the others.
  q.send({ type: 'read', seq: ack.seq });
  const rr = await p.next('read');
  assert.deepEqual(rr, { type: 'read', user: 'pt-1', seq: ack.seq });

  // Ping is answered.
  p.send({ type: 'ping' });
  await p.next('pong');
  p.close(); d.close(); q.close();
});

test('d4_reconnect_with_last_seq_gets_exactly_the_missed_messages_once_in_order', async () => {
  const d = await viaProtocol(ORDER, dr());
  const ready = await d.next('ready');
  const base = ready.last_seq;
  d.close();
  await d.closed();
  const sent = [];
  for (let i = 0; i < 4; i++) {
    const r = await send(ORDER, ph(), `miss-${i}`, `missed ${i}`);
    assert.equal(r.status, 201);
    sent.push(r.json.seq);
  }
  const s = await viaProtocol(ORDER, dr(), `?last_seq=${base}`);
  const rd = await s.next('ready');
  assert.equal(rd.last_seq, base + 4);
  assert.equal(rd.complete, true);
  assert.equal(s.frames.filter((f) => f.type === 'message').length <= 4, true);
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await s.next('message'));
  assert.deepEqual(got.map((m) => m.seq), sent);
  // A driver's view never carries the sender's client id (it could hold PHI): ids are m-<seq>.
  assert.deepEqual(got.map((m) => m.id), sent.map((q) => `m-${q}`));
  assert.deepEqual(got.map((m) => m.text), ['missed 0', 'missed 1', 'missed 2', 'missed 3']);
  // The next live message follows, with nothing replayed twice.
  const r = await send(ORDER, ph(), 'live-after', 'live one');
  const next = await s.next('message');
  assert.equal(next.seq, r.json.seq);
  await sleep(300);
  assert.equal(s.drain((f) => f.type === 'message').length, 0, 'no duplicates');
  s.close();
});

test('d4_first_frame_resume_gets_the_messages_after_the_cursor', async () => {
  const first = await send(ORDER, ph(), 'ff-0', 'zero');
  const r1 = await send(ORDER, ph(), 'ff-1', 'one');
  const r2 = await send(ORDER, ph(), 'ff-2', 'two');
  const s = await viaFrame(ORDER, pt(), first.json.seq);
  const rd = await s.next('ready');
  assert.equal(rd.last_seq, r2.json.seq);
  const a = await s.next('message');
  const b = await s.next('message');
  assert.deepEqual([a.seq, b.seq], [r1.json.seq, r2.json.seq]);
  assert.equal(a.text, 'one');
  s.close();
});

test('d3_unauthenticated_socket_is_closed_4401_after_the_auth_timeout', async () => {
  const t0 = Date.now();
  const s = await openSocket(live(ORDER));
  const c = await s.closed(10_000);
  assert.equal(c.code, 4401);
  assert.equal(c.reason, 'AUTH_TIMEOUT');
  const took = Date.now() - t0;
  assert.ok(took >= 1500 && took < 8000, `closed after ${took} ms`);
});

test('d3_b1_unauthenticated_socket_on_a_missing_room_is_closed_4401_too', async () => {
  const s = await openSocket(live(orderId('ghost')));
  const c = await s.closed(10_000);
  assert.equal(c.code, 4401, 'the auth deadline holds whether the room exists or not');
});

test('a frame other than auth before authentication closes 4401', async () => {
  const s = await openSocket(live(ORDER));
  s.send({ type: 'send', client_id: 'pre-auth', text: 'hi' });
  const c = await s.closed();
  assert.equal(c.code, 4401);
  assert.equal(c.reason, 'UNAUTHENTICATED');
});

test('b1_outsider_socket_gets_the_same_refusal_for_existing_and_missing_rooms', async () => {
  const missing = orderId('ghost');
  const outsider = tok.driver('dr-x', orderId('elsewhere'));
  // Upgrade with the token in the subprotocol: the same HTTP 403 body either way.
  const bodies = [];
  for (const order of [ORDER, missing]) {
    const err = await viaProtocol(order, outsider).then((s) => { s.terminate(); return null; }, (e) => e);
    assert.equal(err?.status, 403, `upgrade on ${order}`);
    assert.equal(err.json.code, 'FORBIDDEN');
    bodies.push(JSON.stringify({ ...err.json, request_id: 'x' }));
  }
  assert.equal(bodies[0], bodies[1]);
  // First-frame auth: the same close code either way.
  const closes = [];
  for (const order of [ORDER, missing]) {
    const s = await viaFrame(order, outsider);
    const c = await s.closed();
    closes.push(`${c.code} ${c.reason}`);
  }
  assert.equal(closes[0], '4003 FORBIDDEN', 'existing room');
  assert.equal(closes[1], closes[0], 'missing room must answer like an existing one (no existence oracle)');
});

test('d2_frame_over_16_kib_is_closed_1009', async () => {
  const s = await viaProtocol(ORDER, ph());
  await s.next('ready');
  s.send(JSON.stringify({ type: 'send', client_id: 'huge', text: 'x'.repeat(17 * 1024) }));
  const c = await s.closed();
  assert.equal(c.code, 1009);
  // Before authentication too.
  const u2 = await openSocket(live(ORDER));
  u2.send('x'.repeat(20 * 1024));
  assert.equal((await u2.closed()).code, 1009);
  // Nothing was stored and the room still answers.
  const h = await call(u(ORDER, '/messages?after=0&limit=100'), { token: ph() });
  assert.equal(h.status, 200);
  assert.ok(!h.json.messages.some((m) => m.id === 'huge'));
});

test('d1_burst_of_40_frames_gets_rate_limited_error_frames', async () => {
  const s = await viaProtocol(ORDER, ph());
  await s.next('ready');
  for (let i = 0; i < 40; i++) s.send({ type: 'ping' });
  const first = await s.next((f) => f.type === 'error', 5000);
  assert.equal(first.code, 'RATE_LIMITED');
  assert.equal(typeof first.message, 'string');
  await sleep(1000);
  const pongs = s.frames.filter((f) => f.type === 'pong').length;
  const limited = 1 + s.frames.filter((f) => f.type === 'error' && f.code === 'RATE_LIMITED').length;
  assert.ok(pongs >= 15 && pongs <= 25, `about the burst size answered: ${pongs}`);
  assert.ok(limited >= 10, `refused frames answered with RATE_LIMITED: ${limited}`);
  // Twenty refusals in a row close the socket with 4429; that last frame gets the close.
  const closedOnLimit = await s.closed(3000).catch(() => null);
  const closing = closedOnLimit && closedOnLimit.code === 4429 ? 1 : 0;
  if (closedOnLimit) assert.equal(closedOnLimit.code, 4429);
  assert.equal(pongs + limited + closing, 40, `every frame answered or refused (${pongs} + ${limited} + ${closing})`);
  s.close();
});

test('d7_idle_socket_is_logged_off_4408_and_pings_do_not_count', async () => {
  const s = await viaProtocol(ORDER, ph());
  await s.next('ready');
  const t0 = Date.now();
  const timer = setInterval(() => { try { s.send({ type: 'ping' }); } catch { /* closed */ } }, 400);
  try {
    const c = await s.closed(10_000);
    assert.equal(c.code, 4408);
    assert.equal(c.reason, 'IDLE_TIMEOUT');
    const took = Date.now() - t0;
    assert.ok(took >= 4500 && took < 12000, `logged off after ${took} ms`);
  } finally { clearInterval(timer); }
});

test('b3_driver_access_ends_after_delivery: socket 4403, HTTP 403 ACCESS_ENDED, pharmacist still reads', async () => {
  const room = orderId('ttl');
  await createRoom(room, [{ user: 'dr-1', role: 'driver' }], RECORD);
  assert.equal((await send(room, dr(room), 'before', 'on my way')).status, 201);
  const d = await viaProtocol(room, dr(room));
  await d.next('ready');
  // Keep the driver active (typing) so idle logoff (2 s) is not what closes it.
  const timer = setInterval(() => { try { d.send({ type: 'typing', active: true }); } catch { /* closed */ } }, 400);
  let c;
  const t0 = Date.now();
  try {
    const r = await call(u(room, '/delivered'), { method: 'POST', token: dr(room), body: {} });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.driver_access_ends_ms - r.json.delivered_at_ms, 3000);
    // Still allowed before the deadline.
    assert.equal((await call(u(room, '/messages'), { token: dr(room) })).status, 200);
    c = await d.closed(12_000);
  } finally { clearInterval(timer); }
  assert.equal(c.code, 4403);
  assert.equal(c.reason, 'ACCESS_ENDED');
  const took = Date.now() - t0;
  assert.ok(took >= 2500 && took < 10_000, `closed after ${took} ms`);

  for (const [method, path, body] of [
    ['GET', '/messages'], ['GET', ''], ['POST', '/messages', { client_id: 'after', text: 'late' }],
    ['POST', '/read', { seq: 1 }], ['POST', '/delivered', {}],
  ]) {
    const r = await call(u(room, path), { method, body, token: dr(room) });
    assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    assert.equal(r.json.code, 'ACCESS_ENDED', `${method} ${path}`);
  }
  const again = await viaProtocol(room, dr(room)).then((s) => { s.terminate(); return null; }, (e) => e);
  assert.equal(again?.status, 403);
  assert.equal(again.json.code, 'ACCESS_ENDED');
  const f = await viaFrame(room, dr(room));
  assert.equal((await f.closed()).code, 4403);

  const h = await call(u(room, '/messages'), { token: ph() });
  assert.equal(h.status, 200);
  assert.deepEqual(h.json.messages.map((m) => m.id), ['before']);
  const v = await call(u(room), { token: ph() });
  assert.equal(v.json.state, 'driver_access_ended');
});

test('d6_socket_is_closed_4401_when_its_token_expires', async () => {
  const now = Math.floor(Date.now() / 1000);
  const short = tok.driver('dr-1', ORDER, { iat: now, exp: now + 3 });
  const s = await viaProtocol(ORDER, short);
  await s.next('ready');
  // Stay active so idle logoff (2 s) is not what closes it.
  const timer = setInterval(() => { try { s.send({ type: 'typing', active: false }); } catch { /* closed */ } }, 400);
  try {
    const c = await s.closed(12_000);
    assert.equal(c.code, 4401);
    assert.equal(c.reason, 'UNAUTHENTICATED');
    assert.ok(Date.now() / 1000 >= now + 2.5, 'not before the token expired');
  } finally { clearInterval(timer); }
  // No message is accepted from the expired principal over HTTP either (the room checks exp).
  const r = await send(ORDER, short, 'expired-1', 'late');
  assert.equal(r.status, 401, r.text);
});

test('b10_a_frame_naming_another_room_still_lands_in_the_socket_room', async () => {
  const other = orderId('b10');
  await createRoom(other, [{ user: 'dr-1', role: 'driver' }]);
  const s = await viaProtocol(ORDER, dr());
  await s.next('ready');
  s.send({ type: 'send', client_id: 'b10-1', text: 'which room?', room_id: other, order: other, order_id: other, sender: 'ph-1', role: 'pharmacist' });
  const ack = await s.next('ack');
  assert.equal(ack.id, 'b10-1');
  s.close();
  const mine = await call(u(ORDER, `/messages?after=${ack.seq - 1}&limit=1`), { token: ph() });
  assert.equal(mine.json.messages[0].id, 'b10-1');
  assert.equal(mine.json.messages[0].sender, 'dr-1');
  assert.equal(mine.json.messages[0].sender_role, 'driver');
  const theirs = await call(u(other, '/messages'), { token: ph() });
  assert.deepEqual(theirs.json.messages, []);
});

test('d4_odd_resume_cursors_never_duplicate_or_invent_messages', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await send(ORDER, ph(), `odd-${i}`, `odd ${i}`)).status, 201);
  const head = (await call(u(ORDER), { token: ph() })).json.last_seq;
  assert.ok(head >= 3);
  // A cursor in the future: refused (400 INVALID_REQUEST), or ready with no message frames.
  const f = await viaProtocol(ORDER, ph(), '?last_seq=999999').catch((e) => e);
  if (f instanceof Error) {
    assert.equal(f.status, 400, f.message);
    assert.equal(f.json?.code, 'INVALID_REQUEST');
  } else {
    const rf = await f.next('ready');
    assert.equal(rf.last_seq, head);
    await sleep(300);
    assert.equal(f.drain((x) => x.type === 'message').length, 0);
    f.close();
  }
  // Malformed cursors: the socket still opens; whatever it replays is each message once, in order.
  for (const q of ['?last_seq=-1', '?last_seq=abc', '?last_seq=1e3', `?last_seq=${head - 2}&last_seq=0`]) {
    const s = await viaProtocol(ORDER, ph(), q).catch((e) => e);
    if (s instanceof Error) {
      // Refusing the malformed cursor is fine too, with the fixed error body.
      assert.equal(s.status, 400, `${q}: ${s.message}`);
      assert.equal(s.json?.code, 'INVALID_REQUEST', q);
      continue;
    }
    const rd = await s.next('ready');
    assert.equal(rd.last_seq, head, q);
    await sleep(400);
    const seqs = s.drain((x) => x.type === 'message').map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${q} in order`);
    assert.equal(new Set(seqs).size, seqs.length, `${q} no duplicates`);
    assert.ok(seqs.every((x) => x >= 1 && x <= head), q);
    s.close();
  }
});

test('d5_j4_same_client_id_over_two_sockets_at_once_is_stored_and_broadcast_once', async () => {
  const p = await viaProtocol(ORDER, ph());
  const a = await viaProtocol(ORDER, pt());
  const b = await viaFrame(ORDER, pt());
  await Promise.all([p.next('ready'), a.next('ready'), b.next('ready')]);
  const frame = { type: 'send', client_id: 'race-1', text: 'only once please' };
  a.send(frame); b.send(frame);
  const [ackA, ackB] = await Promise.all([a.next('ack'), b.next('ack')]);
  assert.deepEqual(ackA, ackB, 'both get the original ack');
  // A retry on the first socket too.
  a.send(frame);
  assert.deepEqual(await a.next('ack'), ackA);
  await p.next((f) => f.type === 'message' && f.id === 'race-1');
  await sleep(500);
  assert.equal(p.drain((f) => f.type === 'message' && f.id === 'race-1').length, 0, 'one broadcast');
  const h = await call(u(ORDER, `/messages?after=${ackA.seq - 1}`), { token: ph() });
  assert.equal(h.json.messages.filter((m) => m.id === 'race-1').length, 1);
  // Same id, other text over the socket: an error frame, and the socket stays open.
  a.send({ ...frame, text: 'different' });
  const err = await a.next('error');
  assert.equal(err.code, 'DUPLICATE_ID_CONFLICT');
  a.send({ type: 'ping' });
  await a.next('pong');
  p.close(); a.close(); b.close();
});
