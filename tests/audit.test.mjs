// The audit trail through the real runtime (issue 7; SECURITY F1, F3, F4, F6): a scripted
// sequence of operations yields exactly its events, in order, in one gap-free hash chain with no
// PHI; refusals land in the region's chain; the CLI verifies the export and catches tampering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startTestServer, call, orderId, parseExport, waitFor, ROOT } from './harness.mjs';

let srv;
let tok;
let issuer;
let work;
const TENANT = 'pharmacy-1';
const ORDER = orderId('audit');
const CANARY = 'Brennikowsky';
const MED = 'zolvaprine';
const u = (order, rest = '') => `${srv.url}/v1/rooms/${order}${rest}`;
const ph = () => tok.pharmacist('ph-1', TENANT);
const dr = () => tok.driver('dr-1', ORDER);
const pt = () => tok.patient('pt-1', ORDER);
let exportText;
const tokensUsed = [];

before(async () => {
  ({ srv, tok, issuer } = await startTestServer());
  work = mkdtempSync(join(tmpdir(), 'rxroom-audit-'));
});
after(async () => {
  await srv?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const track = (t) => { tokensUsed.push(t); return t; };

test('f4_scripted_operations_produce_exactly_their_events_in_one_chain', async () => {
  let r = await call(u(ORDER), {
    method: 'POST', token: track(ph()),
    body: { participants: [{ user: 'dr-1', role: 'driver' }, { user: 'pt-1', role: 'patient' }], record: { patient_name: `Maria ${CANARY}`, medications: [MED] } },
  });
  assert.equal(r.status, 201, r.text);
  const texts = [[ph(), `Maria ${CANARY}, your ${MED} is packed.`], [pt(), 'thank you, see you soon'], [dr(), 'at the gate, code 4455']];
  for (const [i, [t, text]] of texts.entries()) {
    r = await call(u(ORDER, '/messages'), { method: 'POST', token: track(t), body: { client_id: `a-${i}`, text } });
    assert.equal(r.status, 201, r.text);
  }
  r = await call(u(ORDER, '/messages?after=0'), { token: track(ph()) });
  assert.equal(r.status, 200);
  // Refusals: an outsider and a refused token (they go to the region's chain, not the room's).
  r = await call(u(ORDER, '/messages'), { token: track(tok.driver('dr-x', orderId('elsewhere'))) });
  assert.equal(r.status, 403);
  const now = Math.floor(Date.now() / 1000);
  r = await call(u(ORDER, '/messages'), { token: track(issuer.token({ sub: 'ph-1', role: 'pharmacist', tenant: TENANT, iat: now - 900, exp: now - 300 })) });
  assert.equal(r.status, 401);
  r = await call(u(ORDER, '/delivered'), { method: 'POST', token: track(dr()), body: {} });
  assert.equal(r.status, 200, r.text);
  // Break-glass by a non-member pharmacist of the tenant, then a view: two events in one request.
  const ph9 = track(tok.pharmacist('ph-9', TENANT));
  r = await call(u(ORDER, '/emergency'), { method: 'POST', token: ph9, body: { reason: 'patient_safety', note: `callback for ${CANARY}`, duration_secs: 300 } });
  assert.equal(r.status, 201, r.text);
  r = await call(u(ORDER), { token: ph9 });
  assert.equal(r.status, 200, r.text);
  r = await call(u(ORDER, '/audit/export'), { token: track(tok.auditor('au-1', TENANT)) });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /ndjson/);
  exportText = r.text;

  const ex = parseExport(exportText);
  assert.equal(ex.header.format, 'rxroom-audit-export/1');
  assert.equal(ex.header.order, ORDER);
  assert.equal(ex.header.events, ex.events.length);
  assert.equal(ex.header.messages, 3);
  assert.deepEqual(ex.events.map((e) => [e.action, e.actor, e.role]), [
    ['room_created', 'ph-1', 'pharmacist'],
    ['message_sent', 'ph-1', 'pharmacist'],
    ['message_sent', 'pt-1', 'patient'],
    ['message_sent', 'dr-1', 'driver'],
    ['message_read', 'ph-1', 'pharmacist'],
    ['delivered_marked', 'dr-1', 'driver'],
    ['emergency_access', 'ph-9', 'pharmacist'],
    ['emergency_access', 'ph-9', 'pharmacist'],
    ['message_read', 'ph-9', 'pharmacist'],
    ['audit_exported', 'au-1', 'auditor'],
  ]);
  assert.deepEqual(ex.events.filter((e) => e.action === 'message_sent').map((e) => e.target), ['seq:1', 'seq:2', 'seq:3']);
  assert.ok(ex.events[1].labels.includes('NAME') && ex.events[1].labels.includes('MEDICATION'), JSON.stringify(ex.events[1].labels));
  assert.ok(ex.events.every((e) => e.outcome === 'OK'));
  assert.ok(ex.events.every((e) => e.order === ORDER && e.chain === ORDER));
  assert.equal(ex.events[6].target, 'reason:patient_safety');
});

test('f1_chain_is_gap_free_and_linked_by_prev_hash', () => {
  assert.ok(exportText, 'needs the export of the previous test');
  const ex = parseExport(exportText);
  assert.deepEqual(ex.events.map((e) => e.seq), ex.events.map((_, i) => i + 1));
  assert.equal(ex.events[0].prev_hash, '0'.repeat(64));
  for (let i = 0; i < ex.events.length; i++) {
    const e = ex.events[i];
    assert.match(e.hash, /^[0-9a-f]{64}$/);
    assert.equal(e.event_id, `${ORDER}:${e.seq}`);
    if (i > 0) {
      assert.equal(e.prev_hash, ex.events[i - 1].hash, `link at seq ${e.seq}`);
      assert.ok(e.ts_ms >= ex.events[i - 1].ts_ms, 'server time never goes back');
    }
  }
  assert.equal(new Set(ex.events.map((e) => e.hash)).size, ex.events.length);
  assert.equal(ex.trailer.head_seq, ex.events.at(-1).seq);
  assert.equal(ex.trailer.head_hash, ex.events.at(-1).hash);
  assert.equal(ex.trailer.events, ex.events.length);
});

test('f3_events_of_one_request_keep_distinct_sequences', () => {
  const ex = parseExport(exportText);
  // The emergency view wrote emergency_access and message_read in one request.
  const [a, b] = [ex.events[7], ex.events[8]];
  assert.equal(a.action, 'emergency_access');
  assert.equal(b.action, 'message_read');
  assert.equal(b.seq, a.seq + 1);
  assert.ok(b.ts_ms - a.ts_ms < 1000, 'same request');
  assert.notEqual(a.hash, b.hash);
});

test('f6_no_message_text_phi_or_token_in_any_audit_event', () => {
  const ex = parseExport(exportText);
  const events = ex.lines.filter((l) => JSON.parse(l).type === 'event').join('\n');
  for (const v of [CANARY, MED, 'thank you', 'at the gate', '4455', 'callback for']) {
    assert.ok(!events.includes(v), `event holds ${v}`);
  }
  assert.ok(!events.includes('eyJ'), 'no JWT in events');
  for (const t of tokensUsed) assert.ok(!events.includes(t.split('.')[2]));
  // The export's message lines do hold the full text (full view for the auditor).
  assert.ok(ex.messages[0].text.includes(CANARY) && ex.messages[0].text.includes(MED));
});

test('refusals are chained in the region log without the token or PHI', (t) => {
  const py = `
import sqlite3, glob, json, sys
out = []
for f in glob.glob(sys.argv[1] + '/v3/do/rxroom-AuditLog/*.sqlite'):
    if f.endswith('metadata.sqlite'): continue
    c = sqlite3.connect('file:' + f + '?mode=ro', uri=True)
    names = [r[0] for r in c.execute("select name from sqlite_master where type='table'")]
    if 'audit_outbox' in names:
        out += [r[0] for r in c.execute('select event from audit_outbox order by seq')]
print(json.dumps(out))
`;
  const r = spawnSync('python3', ['-c', py, srv.dir], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) { t.skip('python3 sqlite3 not available'); return; }
  const events = JSON.parse(r.stdout).map((s) => JSON.parse(s));
  const forbidden = events.filter((e) => e.action === 'access_forbidden' && e.order === ORDER);
  assert.equal(forbidden.length, 1, JSON.stringify(events.map((e) => e.action)));
  assert.equal(forbidden[0].actor, 'dr-x');
  assert.equal(forbidden[0].outcome, 'FORBIDDEN');
  const refused = events.filter((e) => e.action === 'token_refused');
  assert.equal(refused.length, 1);
  assert.equal(refused[0].actor, null);
  assert.equal(refused[0].outcome, 'UNAUTHENTICATED');
  assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1));
  const raw = JSON.stringify(events);
  assert.ok(!raw.includes('eyJ') && !raw.includes(CANARY));
});

function verify(file) {
  const r = spawnSync('cargo', ['run', '-q', '-p', 'rxroom-cli', '--', 'audit', 'verify', file], {
    cwd: ROOT, encoding: 'utf8', timeout: 600_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('f1_cli_verifies_the_export_and_detects_a_modified_deleted_or_swapped_event', { timeout: 900_000 }, () => {
  assert.ok(exportText);
  const good = join(work, 'export.jsonl');
  writeFileSync(good, exportText);
  const ok = verify(good);
  assert.equal(ok.code, 0, ok.out);
  assert.ok(!ok.out.includes(CANARY), 'the verifier prints no message text');

  const lines = exportText.split('\n').filter(Boolean);
  const idx = lines.findIndex((l) => l.includes('"action":"delivered_marked"'));
  const cases = {
    modified: lines.map((l, i) => (i === idx ? l.replace('"outcome":"OK"', '"outcome":"NO"') : l)),
    'actor changed': lines.map((l, i) => (i === idx ? l.replace('"actor":"dr-1"', '"actor":"dr-2"') : l)),
    deleted: lines.filter((_, i) => i !== idx),
    swapped: lines.map((l, i) => (i === idx ? lines[idx + 1] : i === idx + 1 ? lines[idx] : l)),
  };
  for (const [name, ls] of Object.entries(cases)) {
    assert.notDeepEqual(ls, lines, `${name} changes the file`);
    const f = join(work, `${name.replace(' ', '_')}.jsonl`);
    writeFileSync(f, ls.join('\n') + '\n');
    const v = verify(f);
    assert.notEqual(v.code, 0, `${name} must fail verification: ${v.out}`);
  }
});

test('f1_cli_detects_a_message_line_dropped_from_the_export (trailer says how many)', { timeout: 900_000 }, () => {
  assert.ok(exportText);
  const lines = exportText.split('\n').filter(Boolean);
  const dropped = lines.filter((l) => !(l.includes('"type":"message"') && l.includes('"seq":2,')));
  assert.equal(dropped.length, lines.length - 1);
  const f = join(work, 'message_dropped.jsonl');
  writeFileSync(f, dropped.join('\n') + '\n');
  const v = verify(f);
  assert.notEqual(v.code, 0, `a dropped message must fail verification (header and trailer say messages=3): ${v.out}`);
});

test('f4_a_random_sequence_of_operations_and_refusals_yields_exactly_its_events', async () => {
  const seed = Number(process.env.RXROOM_SEED ?? Date.now() % 1_000_000);
  let state = seed;
  const rnd = (n) => { // mulberry32
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const order = orderId('f4');
  const members = {
    'ph-1': () => tok.pharmacist('ph-1', TENANT),
    'pt-1': () => tok.patient('pt-1', order),
    'dr-1': () => tok.driver('dr-1', order),
  };
  const names = Object.keys(members);
  const expected = [];
  // The CLI runs above block this process for seconds; make sure the runtime answers again
  // before the sequence starts, and show its log if it does not.
  const up = await waitFor(async () => (await fetch(`${srv.url}/v1/health`).catch(() => null))?.ok, 30_000);
  assert.ok(up, `runtime not answering: ${srv.logs().slice(-2000)}`);
  let r = await call(u(order), { method: 'POST', token: members['ph-1'](), body: { participants: [{ user: 'pt-1', role: 'patient' }, { user: 'dr-1', role: 'driver' }], record: {} } });
  assert.equal(r.status, 201);
  expected.push(['room_created', 'ph-1']);
  const sent = []; // [sender, id, text]
  const readPos = { 'ph-1': 0, 'pt-1': 0, 'dr-1': 0 };
  let last = 0;
  const log = [];
  for (let i = 0; i < 40; i++) {
    const who = names[rnd(3)];
    const t = members[who]();
    const op = rnd(9);
    log.push(`${op}:${who}`);
    const ctx = `seed ${seed}, op ${i} (${log.slice(-3).join(' ')})`;
    if (op <= 2) { // new message
      const id = `f4-${i}`;
      r = await call(u(order, '/messages'), { method: 'POST', token: t, body: { client_id: id, text: `note ${i}` } });
      assert.equal(r.status, 201, ctx);
      last = r.json.seq;
      sent.push([who, id, `note ${i}`]);
      expected.push(['message_sent', who, `seq:${last}`]);
    } else if (op === 3 && sent.length) { // replay or conflict of an earlier message: no event
      const [s, id, text] = sent[rnd(sent.length)];
      const conflict = rnd(2) === 1;
      r = await call(u(order, '/messages'), { method: 'POST', token: members[s](), body: { client_id: id, text: conflict ? `${text}!` : text } });
      assert.equal(r.status, conflict ? 409 : 200, ctx);
    } else if (op === 4) { // history
      r = await call(u(order, '/messages?after=0&limit=100'), { token: t });
      assert.equal(r.status, 200, ctx);
      expected.push(['message_read', who]);
    } else if (op === 5) { // room view: audited when it carries the record (not for drivers)
      r = await call(u(order), { token: t });
      assert.equal(r.status, 200, ctx);
      if (who !== 'dr-1') expected.push(['message_read', who, 'room']);
    } else if (op === 6 && last > 0) { // read receipt: audited only when it moves
      const seq = 1 + rnd(last);
      r = await call(u(order, '/read'), { method: 'POST', token: t, body: { seq } });
      assert.equal(r.status, 200, ctx);
      if (seq > readPos[who]) { readPos[who] = seq; expected.push(['message_read', who, `receipt:${seq}`]); }
    } else if (op === 7) { // refusals: outsider, bad token, blank text, oversized: none in this chain
      const k = rnd(4);
      if (k === 0) r = await call(u(order, '/messages'), { token: tok.patient('pt-x', orderId('x')) });
      if (k === 1) r = await call(u(order, '/messages'), { token: `${t}x` });
      if (k === 2) r = await call(u(order, '/messages'), { method: 'POST', token: t, body: { client_id: `blank-${i}`, text: '   ' } });
      if (k === 3) r = await call(u(order, '/messages'), { method: 'POST', token: t, body: { client_id: `big-${i}`, text: 'x'.repeat(5000) } });
      assert.ok([400, 401, 403, 413].includes(r.status), `${ctx}: ${r.status}`);
    } else { // auditor may not read the room: refused, no event here
      r = await call(u(order, '/messages'), { token: tok.auditor('au-1', TENANT) });
      assert.equal(r.status, 403, ctx);
    }
  }
  r = await call(u(order, '/audit/export'), { token: tok.auditor('au-1', TENANT) });
  assert.equal(r.status, 200);
  expected.push(['audit_exported', 'au-1']);
  const ex = parseExport(r.text);
  const got = ex.events.map((e, i) => {
    const want = expected[i];
    return want && want.length === 3 ? [e.action, e.actor, e.target] : [e.action, e.actor];
  });
  assert.deepEqual(got, expected, `seed ${seed}; ops ${log.join(' ')}`);
  assert.deepEqual(ex.events.map((e) => e.seq), ex.events.map((_, i) => i + 1));
  for (let i = 1; i < ex.events.length; i++) assert.equal(ex.events[i].prev_hash, ex.events[i - 1].hash);
  assert.equal(ex.messages.length, sent.length);
});

test('f1_cli_detects_an_edited_message_text_in_the_export', { todo: 'export message lines carry no hash or chain link: an edited text verifies OK (design gap, see report)', timeout: 900_000 }, () => {
  assert.ok(exportText);
  const ex = parseExport(exportText);
  const original = ex.messages[1].text;
  const f = join(work, 'message_edited.jsonl');
  writeFileSync(f, exportText.replace(JSON.stringify(original), JSON.stringify(original.replace('thank you', 'no thanks'))));
  const v = verify(f);
  assert.notEqual(v.code, 0, `an edited message must fail verification: ${v.out}`);
});
