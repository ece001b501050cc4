// Rooms through the real runtime (issue 5; SECURITY B1, B2, B4, B5, B6, C1, D5, D9): role views,
// idempotent sends, concurrent sequencing, history cursors and the single outsider answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, call, orderId } from './harness.mjs';

let srv;
let tok;
const ORDER = orderId('rooms');
const OTHER = orderId('other'); // exists, different participants
const TENANT = 'pharmacy-1';

const RECORD = {
  patient_name: 'Maria Haddad',
  dob: '1961-04-02',
  mrn: '925737738',
  member_id: 'XJH123456789',
  medications: ['amlodipine'],
  phone: '(202) 555-0154',
};
const PHI_TEXT = 'Maria Haddad, DOB 04/02/1961, SSN 900-12-3456: your amlodipine is on the way to 12 Oak Street, gate code 4455.';

const u = (order, rest = '') => `${srv.url}/v1/rooms/${order}${rest}`;
const ph = () => tok.pharmacist('ph-1', TENANT);
const dr = () => tok.driver('dr-1', ORDER);
const pt = () => tok.patient('pt-1', ORDER);

async function send(order, token, client_id, text) {
  return call(u(order, '/messages'), { method: 'POST', token, body: { client_id, text } });
}
async function history(order, token, q = '') {
  const r = await call(u(order, `/messages${q}`), { token });
  assert.equal(r.status, 200, `history ${q}: ${r.text}`);
  return r.json;
}
/** All messages, following forward cursors. */
async function allMessages(order, token) {
  const out = [];
  let after = 0;
  for (let i = 0; i < 100; i++) {
    const page = await history(order, token, `?after=${after}&limit=100`);
    out.push(...page.messages);
    if (!page.has_more) return out;
    after = page.next_after;
  }
  throw new Error('history did not end');
}

before(async () => {
  ({ srv, tok } = await startTestServer());
  const participants = [
    { user: 'ph-1', role: 'pharmacist' },
    { user: 'dr-1', role: 'driver' },
    { user: 'pt-1', role: 'patient' },
  ];
  let r = await call(u(ORDER), { method: 'POST', token: ph(), body: { participants, record: RECORD } });
  assert.equal(r.status, 201, r.text);
  r = await call(u(OTHER), {
    method: 'POST', token: ph(),
    body: { participants: [{ user: 'dr-2', role: 'driver' }, { user: 'pt-2', role: 'patient' }], record: { patient_name: 'Other Person' } },
  });
  assert.equal(r.status, 201, r.text);
});
after(async () => { await srv?.stop(); });

test('create returns the room view with participants and the record for the pharmacist', async () => {
  const r = await call(u(ORDER), { token: ph() });
  assert.equal(r.status, 200);
  assert.equal(r.json.order, ORDER);
  assert.equal(r.json.state, 'active');
  assert.deepEqual(r.json.participants.map((p) => p.user).sort(), ['dr-1', 'ph-1', 'pt-1']);
  assert.deepEqual(r.json.record, RECORD);
});

test('creating the same room twice is 409 ROOM_EXISTS', async () => {
  const r = await call(u(ORDER), { method: 'POST', token: ph(), body: { participants: [], record: {} } });
  assert.equal(r.status, 409);
  assert.equal(r.json.code, 'ROOM_EXISTS');
});

test('driver room view has no record; patient gets the record', async () => {
  const d = await call(u(ORDER), { token: dr() });
  assert.equal(d.status, 200, d.text);
  assert.equal('record' in d.json, false);
  for (const v of ['Haddad', '1961', '925737738', 'XJH123456789', 'amlodipine', '555-0154']) {
    assert.ok(!d.text.includes(v), `driver room view leaks ${v}`);
  }
  const p = await call(u(ORDER), { token: pt() });
  assert.equal(p.status, 200);
  assert.deepEqual(p.json.record, RECORD);
});

test('full flow: the driver view is redacted, pharmacist and patient see the full text', async () => {
  const r = await send(ORDER, ph(), 'flow-1', PHI_TEXT);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.id, 'flow-1');
  assert.ok(Number.isInteger(r.json.seq) && r.json.seq >= 1);
  assert.ok(r.json.redacted_labels.length > 0, 'labels found');
  const seq = r.json.seq;

  const find = (page) => page.messages.find((m) => m.seq === seq);
  const full = find(await history(ORDER, ph()));
  assert.equal(full.text, PHI_TEXT);
  assert.equal(full.sender, 'ph-1');
  assert.equal(full.sender_role, 'pharmacist');
  assert.equal(find(await history(ORDER, pt())).text, PHI_TEXT);

  const d = find(await history(ORDER, dr()));
  for (const hidden of ['amlodipine', '1961', '04/02', '900-12-3456', 'Haddad']) {
    assert.ok(!d.text.includes(hidden), `driver sees ${hidden}: ${d.text}`);
  }
  for (const kept of ['Maria', '12 Oak Street', '4455']) {
    assert.ok(d.text.includes(kept), `driver lost ${kept}: ${d.text}`);
  }
  assert.deepEqual(d.labels, full.labels, 'labels are the same in every view');
});

test('d5_idempotent_retry_returns_the_same_ack_and_stores_one_copy', async () => {
  const a = await send(ORDER, pt(), 'idem-1', 'is the order on its way?');
  assert.equal(a.status, 201, a.text);
  const b = await send(ORDER, pt(), 'idem-1', 'is the order on its way?');
  assert.equal(b.status, 200, b.text);
  assert.deepEqual(b.json, a.json);
  const copies = (await allMessages(ORDER, ph())).filter((m) => m.id === 'idem-1');
  assert.equal(copies.length, 1);
});

test('d5_same_client_id_other_text_is_409_duplicate_id_conflict', async () => {
  const a = await send(ORDER, pt(), 'idem-2', 'first text');
  assert.equal(a.status, 201);
  const b = await send(ORDER, pt(), 'idem-2', 'second text');
  assert.equal(b.status, 409);
  assert.equal(b.json.code, 'DUPLICATE_ID_CONFLICT');
  assert.ok(!b.text.includes('second text'));
  const copies = (await allMessages(ORDER, ph())).filter((m) => m.id === 'idem-2');
  assert.deepEqual(copies.map((m) => m.text), ['first text']);
});

test('d9_ten_concurrent_senders_get_gap_free_sequences_seen_in_one_order', async () => {
  const room = orderId('conc');
  const drivers = Array.from({ length: 8 }, (_, i) => `cd-${i}`);
  const participants = [{ user: 'pt-c', role: 'patient' }, ...drivers.map((user) => ({ user, role: 'driver' }))];
  const c = await call(u(room), { method: 'POST', token: ph(), body: { participants, record: {} } });
  assert.equal(c.status, 201, c.text);
  const senders = [
    { name: 'ph-1', token: ph() },
    { name: 'pt-c', token: tok.patient('pt-c', room) },
    ...drivers.map((d) => ({ name: d, token: tok.driver(d, room) })),
  ];
  assert.equal(senders.length, 10);
  const PER = 5;
  const acks = await Promise.all(senders.map(async (s) => {
    const mine = [];
    for (let i = 0; i < PER; i++) {
      const r = await send(room, s.token, `${s.name}-${i}`, `hello ${i} from ${s.name}`);
      assert.equal(r.status, 201, r.text);
      mine.push(r.json.seq);
    }
    // Each sender's own acks increase.
    for (let i = 1; i < mine.length; i++) assert.ok(mine[i] > mine[i - 1]);
    return mine;
  }));
  const seqs = acks.flat().sort((a, b) => a - b);
  assert.deepEqual(seqs, Array.from({ length: 10 * PER }, (_, i) => i + 1), 'gap-free 1..N');

  const orders = [];
  for (const t of [ph(), tok.patient('pt-c', room), tok.driver('cd-3', room)]) {
    const msgs = await allMessages(room, t);
    assert.deepEqual(msgs.map((m) => m.seq), seqs);
    orders.push(msgs.map((m) => `${m.seq}:${m.sender}:${m.text}`));
  }
  assert.deepEqual(orders[1], orders[0]);
  assert.deepEqual(orders[2], orders[0]);

  // History cursors on the same 50 messages.
  let p = await history(room, ph(), '?after=0&limit=20');
  assert.deepEqual(p.messages.map((m) => m.seq), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(p.has_more, true);
  assert.equal(p.next_after, 20);
  p = await history(room, ph(), '?after=40&limit=20');
  assert.deepEqual(p.messages.map((m) => m.seq), Array.from({ length: 10 }, (_, i) => i + 41));
  assert.equal(p.has_more, false);
  assert.equal(p.next_after, 50);
  p = await history(room, ph(), '?after=50');
  assert.deepEqual(p.messages, []);
  assert.equal(p.next_after, 50);
  assert.equal(p.has_more, false);
  p = await history(room, ph(), '?before=50&limit=10');
  assert.deepEqual(p.messages.map((m) => m.seq), Array.from({ length: 10 }, (_, i) => i + 40));
  assert.equal(p.next_before, 40);
  assert.equal(p.has_more, true);
  p = await history(room, ph(), '?before=5&limit=10');
  assert.deepEqual(p.messages.map((m) => m.seq), [1, 2, 3, 4]);
  assert.equal(p.has_more, false);
  p = await history(room, ph(), '');
  assert.equal(p.messages.length, 50, 'default page size is 50');
  const big = await call(u(room, '/messages?limit=101'), { token: ph() });
  assert.equal(big.status, 400, `limit over 100: ${big.text}`);
  const bad = await call(u(room, '/messages?after=abc'), { token: ph() });
  assert.equal(bad.status, 400);
});

function normalize(r) {
  assert.equal(r.status, 403, r.text);
  const { request_id, ...rest } = r.json;
  assert.match(request_id, /^[0-9a-f]{32}$/);
  return JSON.stringify(rest) + '|' + r.headers.get('content-type') + '|' + r.text.replace(request_id, 'RID');
}

test('b1_b2_b5_outsiders_get_one_forbidden_answer_for_existing_and_missing_rooms', async () => {
  const missing = orderId('nope');
  const outsiders = {
    'other order driver (B1)': tok.driver('dr-2', OTHER),
    'other order patient (B2)': tok.patient('pt-2', OTHER),
    'other tenant pharmacist (B5)': tok.pharmacist('ph-9', 'pharmacy-2'),
    'other tenant dispatcher (B5)': tok.dispatcher('ds-9', 'pharmacy-2'),
    'same tenant non-member pharmacist': tok.pharmacist('ph-7', TENANT),
  };
  let reference;
  for (const [who, t] of Object.entries(outsiders)) {
    for (const order of [ORDER, missing]) {
      const answers = [
        await call(u(order), { token: t }),
        await call(u(order, '/messages'), { token: t }),
        await call(u(order, '/messages'), { method: 'POST', token: t, body: { client_id: 'x1', text: 'hi' } }),
        await call(u(order, '/read'), { method: 'POST', token: t, body: { seq: 1 } }),
        await call(u(order, '/delivered'), { method: 'POST', token: t, body: {} }),
      ];
      for (const r of answers) {
        const n = normalize(r);
        reference ??= n;
        assert.equal(n, reference, `${who} on ${order === ORDER ? 'existing' : 'missing'} room`);
        assert.equal(r.json.code, 'FORBIDDEN');
      }
    }
  }
  // A token for another order sent with the driver's own order in the body changes nothing (B2).
  const r = await call(u(ORDER, '/messages'), { method: 'POST', token: tok.patient('pt-2', OTHER), body: { client_id: 'x2', text: 'hi', order: ORDER, room_id: ORDER } });
  assert.equal(normalize(r), reference);
  // Nothing an outsider sent was stored.
  assert.equal((await allMessages(ORDER, ph())).filter((m) => m.id === 'x1' || m.id === 'x2').length, 0);
});

test('b4_auditor_cannot_send_create_deliver_or_read', async () => {
  const a = tok.auditor('au-1', TENANT);
  const tries = [
    await send(ORDER, a, 'au-1', 'hello'),
    await call(u(orderId('au')), { method: 'POST', token: a, body: { participants: [], record: {} } }),
    await call(u(ORDER, '/delivered'), { method: 'POST', token: a, body: {} }),
    await call(u(ORDER, '/messages'), { token: a }),
    await call(u(ORDER), { token: a }),
  ];
  for (const r of tries) {
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.code, 'FORBIDDEN');
  }
  const room = await call(u(ORDER), { token: ph() });
  assert.equal(room.json.state, 'active', 'auditor did not mark delivered');
});

test('b6_body_role_sender_and_room_id_are_ignored', async () => {
  const r = await call(u(ORDER, '/messages'), {
    method: 'POST', token: dr(),
    body: { client_id: 'b6-1', text: 'at the door', role: 'pharmacist', sender: 'ph-1', sender_role: 'pharmacist', room_id: OTHER, order: OTHER, region: 'eu', seq: 999, server_time: 1 },
  });
  assert.equal(r.status, 201, r.text);
  assert.notEqual(r.json.seq, 999);
  assert.notEqual(r.json.server_time, 1);
  const m = (await allMessages(ORDER, ph())).find((x) => x.id === 'b6-1');
  assert.equal(m.sender, 'dr-1');
  assert.equal(m.sender_role, 'driver');
  assert.equal((await allMessages(OTHER, ph())).filter((x) => x.id === 'b6-1').length, 0);
  // Creating with a body that names another tenant still binds the creator's tenant.
  const room = orderId('b6');
  const c = await call(u(room), { method: 'POST', token: ph(), body: { participants: [], record: {}, tenant: 'pharmacy-2', region: 'eu' } });
  assert.equal(c.status, 201, c.text);
  assert.equal(c.json.region, 'us');
  const outsider = await call(u(room), { token: tok.pharmacist('ph-x', 'pharmacy-2') });
  assert.equal(outsider.status, 403);
});

test('c1_text_over_4_kib_and_body_over_limit_are_413', async () => {
  const a = await send(ORDER, ph(), 'big-1', 'a'.repeat(5 * 1024));
  assert.equal(a.status, 413, a.text);
  assert.equal(a.json.code, 'PAYLOAD_TOO_LARGE');
  const b = await send(ORDER, ph(), 'big-2', 'a'.repeat(70 * 1024));
  assert.equal(b.status, 413);
  assert.equal(b.json.code, 'PAYLOAD_TOO_LARGE');
  // Multibyte: 1400 three-byte chars = 4200 bytes > 4 KiB even though length is 1400.
  const c = await send(ORDER, ph(), 'big-3', '€'.repeat(1400));
  assert.equal(c.status, 413, 'limit counts UTF-8 bytes (C5)');
  const ok = await send(ORDER, ph(), 'big-4', 'a'.repeat(4096));
  assert.equal(ok.status, 201, ok.text);
  const stored = (await allMessages(ORDER, ph())).filter((m) => m.id.startsWith('big-'));
  assert.deepEqual(stored.map((m) => m.id), ['big-4']);
});

test('card numbers are masked for every role, including the sender', async () => {
  const r = await send(ORDER, pt(), 'card-1', 'charge my card 4111 1111 1111 1111 please');
  assert.equal(r.status, 201, r.text);
  for (const [role, t] of [['pharmacist', ph()], ['patient', pt()], ['driver', dr()]]) {
    // Drivers see m-<seq> instead of the sender's client id.
    const m = (await allMessages(ORDER, t)).find((x) => x.id === 'card-1' || x.id === `m-${r.json.seq}`);
    assert.ok(!/4111\D?1111\D?1111/.test(m.text), `${role} sees the card: ${m.text}`);
    assert.ok(m.labels.includes('CREDIT_CARD'), JSON.stringify(m.labels));
    // Pharmacist and patient get the last four (PCI DSS); the driver gets no card digits at all.
    if (role === 'driver') assert.equal(m.text, 'charge my card [CREDIT_CARD] please');
    else assert.equal(m.text, 'charge my card [CARD ••••1111] please');
  }
});

test('mark delivered sets deadlines; a second call changes nothing', async () => {
  const room = orderId('deliv');
  const c = await call(u(room), { method: 'POST', token: ph(), body: { participants: [{ user: 'dr-9', role: 'driver' }], record: {} } });
  assert.equal(c.status, 201);
  const a = await call(u(room, '/delivered'), { method: 'POST', token: tok.driver('dr-9', room), body: {} });
  assert.equal(a.status, 200, a.text);
  assert.equal(a.json.state, 'delivered');
  assert.ok(a.json.delivered_at_ms > 0);
  assert.equal(a.json.driver_access_ends_ms, a.json.delivered_at_ms + 1800 * 1000);
  assert.equal(a.json.closes_at_ms, a.json.delivered_at_ms + 86400 * 1000);
  const b = await call(u(room, '/delivered'), { method: 'POST', token: ph(), body: {} });
  assert.equal(b.status, 200);
  assert.equal(b.json.delivered_at_ms, a.json.delivered_at_ms);
});

test('read receipts: seq is recorded and never decreases', async () => {
  const r1 = await call(u(ORDER, '/read'), { method: 'POST', token: pt(), body: { seq: 2 } });
  assert.equal(r1.status, 200, r1.text);
  assert.deepEqual(r1.json, { user: 'pt-1', seq: 2 });
  const r2 = await call(u(ORDER, '/read'), { method: 'POST', token: pt(), body: { seq: 1 } });
  assert.equal(r2.status, 200);
  assert.equal(r2.json.seq, 2);
});

test('b9_break_glass_needs_a_reason_is_read_only_personal_and_expires', async () => {
  const room = orderId('b9');
  const c = await call(u(room), { method: 'POST', token: ph(), body: { participants: [{ user: 'dr-1', role: 'driver' }], record: RECORD } });
  assert.equal(c.status, 201);
  assert.equal((await send(room, ph(), 'b9-1', 'hello')).status, 201);
  const sup = () => tok.pharmacist('ph-sup', TENANT);
  const grant = (token, body) => call(u(room, '/emergency'), { method: 'POST', token, body });
  // Before a grant the supervisor is an outsider.
  assert.equal((await call(u(room, '/messages'), { token: sup() })).status, 403);
  // Refused grants: no or unknown reason, empty note, too long, wrong role or tenant.
  for (const [what, token, body, status] of [
    ['no reason', sup(), { note: 'x', duration_secs: 60 }, 400],
    ['unknown reason', sup(), { reason: 'curiosity', note: 'x', duration_secs: 60 }, 400],
    ['empty note', sup(), { reason: 'patient_safety', note: '  ', duration_secs: 60 }, 403],
    ['a year long', sup(), { reason: 'patient_safety', note: 'x', duration_secs: 365 * 86400 }, 403],
    ['driver', tok.driver('dr-1', room), { reason: 'patient_safety', note: 'x', duration_secs: 60 }, 403],
    ['patient', tok.patient('pt-1', room), { reason: 'patient_safety', note: 'x', duration_secs: 60 }, 403],
    ['auditor', tok.auditor('au-1', TENANT), { reason: 'patient_safety', note: 'x', duration_secs: 60 }, 403],
    ['other tenant', tok.pharmacist('ph-o', 'pharmacy-2'), { reason: 'patient_safety', note: 'x', duration_secs: 60 }, 403],
  ]) {
    const r = await grant(token, body);
    assert.equal(r.status, status, `${what}: ${r.text}`);
  }
  assert.equal((await call(u(room, '/messages'), { token: sup() })).status, 403, 'no refused grant opened the room');
  // A valid, short grant: read-only, for that user only, and it expires.
  const g = await grant(sup(), { reason: 'patient_safety', note: 'patient called about a reaction', duration_secs: 2 });
  assert.equal(g.status, 201, g.text);
  assert.equal(g.json.reason, 'patient_safety');
  const h = await call(u(room, '/messages'), { token: sup() });
  assert.equal(h.status, 200, h.text);
  assert.deepEqual(h.json.messages.map((m) => m.id), ['b9-1']);
  assert.equal((await call(u(room), { token: sup() })).status, 200);
  assert.equal((await send(room, sup(), 'b9-2', 'may I write?')).status, 403, 'a grant does not let one send');
  assert.equal((await call(u(room, '/delivered'), { method: 'POST', token: sup(), body: {} })).status, 403);
  assert.equal((await call(u(room, '/messages'), { token: tok.pharmacist('ph-other', TENANT) })).status, 403, 'not reusable by another user');
  await new Promise((r) => setTimeout(r, 2500));
  const late = await call(u(room, '/messages'), { token: sup() });
  assert.equal(late.status, 403, 'expired grant');
  assert.equal(late.json.code, 'FORBIDDEN');
});

test('c2_c3_c4_bad_bodies_are_400_and_store_nothing', async () => {
  const post = (body) => call(u(ORDER, '/messages'), { method: 'POST', token: ph(), body, headers: { 'content-type': 'application/json' } });
  const cases = {
    'lone surrogate escape (C3)': '{"client_id":"c3-1","text":"a\\ud800b"}',
    'invalid utf-8 bytes (C3)': Buffer.concat([Buffer.from('{"client_id":"c3-2","text":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    'overlong utf-8 (C3)': Buffer.concat([Buffer.from('{"client_id":"c3-3","text":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]),
    'deep nesting (C4)': '['.repeat(10_000),
    'deep object (C4)': '{"client_id":"c4-1","text":' + '{"a":'.repeat(2500) + '1' + '}'.repeat(2501),
    'wrong types (C2)': '{"client_id":7,"text":["a"]}',
    'missing text (C2)': '{"client_id":"c2-1"}',
    'bad client id (C2)': '{"client_id":"has space","text":"a"}',
    'duplicate text key (C2)': '{"client_id":"c2-2","text":"a","text":"b"}',
  };
  for (const [what, body] of Object.entries(cases)) {
    const r = await post(body instanceof Buffer ? new Uint8Array(body) : body);
    assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
    assert.ok(['INVALID_JSON', 'INVALID_REQUEST'].includes(r.json?.code), `${what}: ${r.text}`);
  }
  const stored = (await allMessages(ORDER, ph())).filter((m) => /^c[234]-/.test(m.id));
  assert.deepEqual(stored, []);
  assert.equal((await call(u(ORDER), { token: ph() })).status, 200, 'the room still answers');
});

test('d5_the_same_client_id_from_another_sender_or_room_is_independent', async () => {
  const a = await send(ORDER, ph(), 'shared-id', 'from the pharmacist');
  const b = await send(ORDER, pt(), 'shared-id', 'from the patient');
  assert.equal(a.status, 201, a.text);
  assert.equal(b.status, 201, b.text);
  assert.notEqual(a.json.seq, b.json.seq);
  const c = await send(OTHER, tok.patient('pt-2', OTHER), 'shared-id', 'other room');
  assert.equal(c.status, 201, c.text);
  const mine = (await allMessages(ORDER, ph())).filter((m) => m.id === 'shared-id');
  assert.deepEqual(mine.map((m) => [m.sender, m.text]), [['ph-1', 'from the pharmacist'], ['pt-1', 'from the patient']]);
});
