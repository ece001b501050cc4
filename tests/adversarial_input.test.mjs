// Adversarial input and authorization through the real runtime (SECURITY B5, B9, C2, C5, D5,
// J4, J7): tenants racing for one order id, the break-glass review trail, invisible messages,
// extreme numbers in every cursor, create-body abuse, concurrent creates and sends, and the
// runtime's health (no 5xx, no panic) after all of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, call, orderId } from './harness.mjs';

let srv;
let tok;
const TENANT = 'pharmacy-1';
const u = (order, rest = '') => `${srv.url}/v1/rooms/${order}${rest}`;
const ph = () => tok.pharmacist('ph-1', TENANT);
const create = (order, body, token = ph()) =>
  call(u(order), { method: 'POST', token, body, headers: { 'content-type': 'application/json' } });
const send = (order, token, client_id, text) =>
  call(u(order, '/messages'), { method: 'POST', token, body: { client_id, text } });

before(async () => {
  ({ srv, tok } = await startTestServer());
});
after(async () => { await srv?.stop(); });

test('b5_a_pharmacist_of_another_tenant_cannot_take_an_order_id_and_its_patient', { todo: 'design limitation: order ids are not bound to a tenant yet (README, known limitations)' }, async () => {
  // Order ids are one namespace for every tenant and the first create wins. A pharmacist of
  // pharmacy-2 creates the room for pharmacy-1's order first, listing pharmacy-1's patient.
  const order = orderId('squat');
  const squat = await create(order, { participants: [{ user: 'pt-1', role: 'patient' }], record: {} }, tok.pharmacist('ph-evil', 'pharmacy-2'));
  assert.equal(squat.status, 201, squat.text);
  const own = await create(order, { participants: [{ user: 'pt-1', role: 'patient' }], record: { patient_name: 'Maria Haddad' } });
  // The patient's token names only the order, so pt-1 would now talk to pharmacy-2.
  const leak = await send(order, tok.patient('pt-1', order), 'sq-1', 'my date of birth is 3/4/56');
  const seen = await call(u(order, '/messages'), { token: tok.pharmacist('ph-evil', 'pharmacy-2') });
  assert.equal(own.status, 201, `the order's own tenant cannot open its room: ${own.status} ${own.json?.code}; ` +
    `the patient's message went to the other tenant (${leak.status}), who reads ${JSON.stringify(seen.json?.messages?.map((m) => m.text))}`);
});

test('b9_the_break_glass_note_is_kept_for_review_and_the_grant_event_has_the_source_ip', { todo: 'not built: the break-glass note is not kept for review yet (README, known limitations); the grant event IP is fixed' }, async () => {
  const order = orderId('b9note');
  assert.equal((await create(order, { participants: [], record: {} })).status, 201);
  const note = 'NOTE-7f3a patient called about a reaction';
  const g = await call(u(order, '/emergency'), {
    method: 'POST', token: tok.pharmacist('ph-sup', TENANT), body: { reason: 'patient_safety', note, duration_secs: 60 },
  });
  assert.equal(g.status, 201, g.text);
  const e = await call(u(order, '/audit/export'), { token: tok.auditor('au-1', TENANT) });
  assert.equal(e.status, 200, e.text);
  const lines = e.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const grant = lines.find((l) => l.type === 'event' && l.action === 'emergency_access' && l.actor === 'ph-sup');
  assert.ok(grant, 'a break-glass event');
  // The reviewer needs the justification: the export (the auditor's only view) must hold it,
  // in clear or sealed; today it is dropped after validation and stored nowhere.
  const kept = lines.some((l) => l.type !== 'event' && JSON.stringify(l).includes('NOTE-7f3a'))
    || lines.some((l) => l.note !== undefined || l.reason_note !== undefined);
  const problems = [];
  if (!kept) problems.push('the emergency note is not in the export (not stored anywhere)');
  if (grant.ip === null) problems.push('the high-severity grant event has no source IP (other events of the same caller do)');
  assert.deepEqual(problems, []);
});

test('c2_c5_a_message_of_only_invisible_or_control_characters_is_refused', async () => {
  const order = orderId('blank');
  assert.equal((await create(order, { participants: [{ user: 'dr-1', role: 'driver' }], record: {} })).status, 201);
  // Whitespace-only is refused (control) ...
  assert.equal((await send(order, ph(), 'w-0', ' \n\t\u00a0\u3000')).status, 400);
  // ... but text that renders as nothing, or only flips the reader's display, is stored and
  // fanned out to everyone: NUL, zero-width space/joiner, word joiner, BOM, bidi override.
  const accepted = [];
  for (const [i, text] of ['\u0000', '\u200b\u200b', '\u200d', '\u2060', '\ufeff', '\u202e', '\u0007\u0008'].entries()) {
    const r = await send(order, ph(), `inv-${i}`, text);
    if (r.status !== 400) accepted.push(`${JSON.stringify(text)} -> ${r.status}`);
  }
  assert.deepEqual(accepted, [], 'invisible messages accepted');
});

test('what held: extreme cursors, sequences and bodies answer 200 or 400, never 5xx', async () => {
  const order = orderId('extreme');
  assert.equal((await create(order, { participants: [{ user: 'pt-1', role: 'patient' }], record: {} })).status, 201);
  for (let i = 0; i < 3; i++) assert.equal((await send(order, ph(), `x-${i}`, `hello ${i}`)).status, 201);
  const hist = {
    'after=18446744073709551615': 200, 'after=18446744073709551616': 400, 'after=9223372036854775808': 200,
    'after=9007199254740993': 200, 'before=18446744073709551615': 200, 'before=9223372036854775808': 200,
    'before=0': 200, 'after=-1': 400, 'limit=1.5': 400, 'limit=0': 400, 'limit=101': 400,
    'limit=4294967296': 400, 'after=': 400, 'after=1&after=2': 400, 'after=1e3': 400, 'after=0x1': 400,
    'after=%2B1': 200, 'after=1&before=3': 400, 'after=NaN': 400, 'after=Infinity': 400,
  };
  for (const [q, want] of Object.entries(hist)) {
    const r = await call(u(order, `/messages?${q}`), { token: ph() });
    assert.equal(r.status, want, `history ?${q}: ${r.text}`);
    if (want === 200 && q.startsWith('after=') && q !== 'after=%2B1') assert.deepEqual(r.json.messages, [], q);
    if (q.startsWith('before=1') || q.startsWith('before=9')) assert.deepEqual(r.json.messages.map((m) => m.seq), [1, 2, 3], q);
  }
  for (const body of ['{"seq":18446744073709551616}', '{"seq":9007199254740993}', '{"seq":-1}', '{"seq":1.5}',
    '{"seq":"1"}', '{"seq":null}', '{}', '{"seq":1e400}', '{"seq":2,"seq":3}', '{"seq":4}']) {
    const r = await call(u(order, '/read'), { method: 'POST', token: tok.patient('pt-1', order), body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, `read ${body}: ${r.text}`);
    assert.ok(!r.text.includes('9007199254740993') && !r.text.includes('1e400'), 'no echo');
  }
  const many = (k) => Array.from({ length: k }, (_, i) => ({ user: `u${i}`, role: 'patient' }));
  const creates = [
    ['10k participants', { participants: many(10_000), record: {} }, 413],
    ['16 participants with the creator (max 16)', { participants: many(16), record: {} }, 400],
    ['duplicate participant', { participants: [{ user: 'a', role: 'patient' }, { user: 'a', role: 'patient' }], record: {} }, 400],
    ['same user two roles', { participants: [{ user: 'a', role: 'patient' }, { user: 'a', role: 'driver' }], record: {} }, 400],
    ['auditor participant', { participants: [{ user: 'au', role: 'auditor' }], record: {} }, 400],
    ['creator listed as a driver', { participants: [{ user: 'ph-1', role: 'driver' }], record: {} }, 400],
    ['unknown role', { participants: [{ user: 'x', role: 'admin' }], record: {} }, 400],
    ['fullwidth user id', { participants: [{ user: '\uff58', role: 'driver' }], record: {} }, 400],
    ['NUL in user id', { participants: [{ user: 'a\u0000b', role: 'driver' }], record: {} }, 400],
    ['record name over 256 bytes', { participants: [], record: { patient_name: '\u00e9'.repeat(129) } }, 400],
    ['65 medications', { participants: [], record: { medications: Array.from({ length: 65 }, (_, i) => `m${i}`) } }, 400],
    ['empty medication', { participants: [], record: { medications: [''] } }, 400],
    ['participants null', { participants: null }, 400],
  ];
  for (const [what, body, want] of creates) {
    const r = await create(orderId('c'), body);
    assert.equal(r.status, want, `${what}: ${r.text.slice(0, 200)}`);
  }
  for (const [what, path, want] of [['65-byte order id', 'a'.repeat(65), 400], ['fullwidth order id', encodeURIComponent('\uff4f\uff52\uff44'), 400],
    ['encoded dash', 'ord%2D1', 400], ['dot order id', 'ord.1', 400]]) {
    const r = await create(path, { participants: [], record: {} });
    assert.equal(r.status, want, `${what}: ${r.text}`);
  }
  assert.ok(!/"status":5\d\d/.test(srv.logs()), 'no 5xx in the request log');
});

test('what held: ten concurrent creates of one room give one 201; fifty parallel sends of one client id store one message', async () => {
  const order = orderId('race');
  const body = { participants: [{ user: 'pt-1', role: 'patient' }], record: { patient_name: 'Ann Lee' } };
  const rs = await Promise.all(Array.from({ length: 10 }, () => create(order, body)));
  assert.deepEqual(rs.map((r) => r.status).sort(), [201, ...Array(9).fill(409)]);
  const sends = await Promise.all(Array.from({ length: 50 }, () => send(order, tok.patient('pt-1', order), 'same-1', 'only once')));
  const statuses = sends.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 201).length, 1, statuses.join(','));
  assert.equal(statuses.filter((s) => s === 200).length, 49, statuses.join(','));
  for (const r of sends) assert.equal(r.json.seq, sends[0].json.seq);
  const h = await call(u(order, '/messages'), { token: ph() });
  assert.deepEqual(h.json.messages.map((m) => m.id), ['same-1']);
});

test('d1_http_sends_from_one_user_are_rate_limited_like_socket_frames', async () => {
  // A socket gets 10 frames/s (burst 20); the HTTP send route has no limit at all, so one
  // patient can write (and fan out, and audit) a message flood. README documents only the
  // per-socket limit.
  const order = orderId('flood');
  assert.equal((await create(order, { participants: [{ user: 'pt-1', role: 'patient' }], record: {} })).status, 201);
  const t0 = Date.now();
  const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => send(order, tok.patient('pt-1', order), `fl-${i}`, `flood ${i}`)));
  const took = Date.now() - t0;
  const limited = rs.filter((r) => r.status === 429).length;
  assert.ok(rs.every((r) => [201, 429].includes(r.status)), rs.map((r) => r.status).join(','));
  assert.ok(limited > 0, `100 sends in ${took} ms from one user, none refused (socket limit would allow about ${20 + Math.ceil(took / 100)})`);
});

test('what held: wrong roles and wrong scopes are refused on every route tried', async () => {
  const order = orderId('roles');
  const rec = { patient_name: 'Maria Haddad', medications: ['sertraline'] };
  assert.equal((await create(order, { participants: [{ user: 'dr-1', role: 'driver' }, { user: 'pt-1', role: 'patient' }, { user: 'ds-1', role: 'dispatcher' }], record: rec })).status, 201);
  assert.equal((await send(order, ph(), 'r-1', 'Maria Haddad: sertraline')).status, 201);
  const cases = [
    ['patient marks delivered', () => call(u(order, '/delivered'), { method: 'POST', token: tok.patient('pt-1', order), body: {} }), 403],
    ['dispatcher member marks delivered', () => call(u(order, '/delivered'), { method: 'POST', token: tok.dispatcher('ds-1', TENANT), body: {} }), 403],
    ['driver creates a room', () => create(orderId('d'), { participants: [], record: {} }, tok.driver('dr-1', 'any')), 403],
    ['patient creates a room', () => create(orderId('p'), { participants: [], record: {} }, tok.patient('pt-1', 'any')), 403],
    ['driver token with a tenant scope', () => call(u(order), { token: tok.driver('dr-1', [], { tenant: TENANT }) }), 401],
    ['pharmacist token with an orders scope', () => call(u(order), { token: tok.pharmacist('ph-1', undefined, { orders: [order] }) }), 401],
    ['auditor of another tenant exports', () => call(u(order, '/audit/export'), { token: tok.auditor('au-2', 'pharmacy-2') }), 403],
    ['pharmacist member exports', () => call(u(order, '/audit/export'), { token: ph() }), 403],
    ['dispatcher of another tenant reads', () => call(u(order, '/messages'), { token: tok.dispatcher('ds-1', 'pharmacy-2') }), 403],
    ['driver grants itself break-glass', () => call(u(order, '/emergency'), { method: 'POST', token: tok.driver('dr-1', order), body: { reason: 'patient_safety', note: 'x', duration_secs: 60 } }), 403],
  ];
  for (const [what, run, want] of cases) {
    const r = await run();
    assert.equal(r.status, want, `${what}: ${r.text}`);
  }
  assert.equal((await call(u(order), { token: ph() })).json.state, 'active');
  // A non-member dispatcher under break-glass reads the dispatcher's (redacted) view only.
  const g = await call(u(order, '/emergency'), { method: 'POST', token: tok.dispatcher('ds-9', TENANT), body: { reason: 'patient_safety', note: 'x', duration_secs: 60 } });
  assert.equal(g.status, 201, g.text);
  const h = await call(u(order, '/messages'), { token: tok.dispatcher('ds-9', TENANT) });
  assert.equal(h.status, 200, h.text);
  assert.ok(!/haddad|sertraline/i.test(JSON.stringify(h.json)), JSON.stringify(h.json));
});

test('e3_responses_that_carry_phi_are_sent_with_nosniff_like_error_responses', async () => {
  // Error bodies get X-Content-Type-Options: nosniff; the object's success bodies (room view
  // with the record, history, the auditor's NDJSON export with every message) do not.
  const order = orderId('hdr');
  const c = await create(order, { participants: [], record: { patient_name: 'Maria Haddad' } });
  assert.equal(c.status, 201);
  const err = await call(u(order, '/messages'), { token: tok.pharmacist('ph-9', 'pharmacy-2') });
  assert.equal(err.headers.get('x-content-type-options'), 'nosniff', 'control: error response');
  const missing = [];
  for (const [what, r] of [
    ['create', c],
    ['room view', await call(u(order), { token: ph() })],
    ['history', await call(u(order, '/messages'), { token: ph() })],
    ['audit export', await call(u(order, '/audit/export'), { token: tok.auditor('au-1', TENANT) })],
  ]) {
    if (r.headers.get('x-content-type-options') !== 'nosniff') missing.push(what);
  }
  assert.deepEqual(missing, [], 'responses without nosniff');
});

test('j7_after_every_input_above_the_logs_hold_no_panic_and_the_next_request_succeeds', async () => {
  const logs = srv.logs();
  for (const bad of ['panicked', 'RuntimeError', 'unreachable', 'Uncaught']) assert.ok(!logs.includes(bad), `log has ${bad}`);
  const order = orderId('after');
  assert.equal((await create(order, { participants: [], record: {} })).status, 201);
  assert.equal((await send(order, ph(), 'ok-1', 'still fine')).status, 201);
});
