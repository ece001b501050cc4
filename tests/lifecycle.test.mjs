// Room lifecycle and durability through the real runtime (issue 5; SECURITY B8, J1, J3, J5, J6):
// close after delivery, archive into the region's bucket, room storage emptied while the audit
// chain and the archived messages stay exportable; a runtime restart loses and duplicates
// nothing that was acknowledged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startTestServer, call, orderId, openSocket, listFiles, parseExport, waitFor, sleep, ROOT } from './harness.mjs';

let srv;
let tok;
let vars;
const TENANT = 'pharmacy-1';
const u = (order, rest = '') => `${srv.url}/v1/rooms/${order}${rest}`;
const ph = () => tok.pharmacist('ph-1', TENANT);
const send = (order, token, client_id, text) =>
  call(u(order, '/messages'), { method: 'POST', token, body: { client_id, text } });
async function allMessages(order, token) {
  const r = await call(u(order, '/messages?after=0&limit=100'), { token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.has_more, false);
  return r.json.messages;
}

before(async () => {
  ({ srv, tok, vars } = await startTestServer({ DRIVER_TTL_SECS: '2', CLOSE_TTL_SECS: '4' }));
});
after(async () => { await srv?.stop(); });

/** Row counts of the room tables in the ChatRoom database that holds `order`'s chain. */
function roomTables(order) {
  const py = `
import sqlite3, glob, json, sys
out = None
for f in glob.glob(sys.argv[1] + '/v3/do/rxroom-ChatRoom/*.sqlite'):
    if f.endswith('metadata.sqlite'): continue
    c = sqlite3.connect('file:' + f + '?mode=ro', uri=True)
    names = [r[0] for r in c.execute("select name from sqlite_master where type='table'")]
    if 'audit_info' not in names: continue
    row = c.execute('select chain from audit_info').fetchone()
    if not row or row[0] != sys.argv[2]: continue
    out = {n: c.execute('select count(*) from "%s"' % n).fetchone()[0] for n in names if not n.startswith('_cf') and not n.startswith('__')}
print(json.dumps(out))
`;
  const r = spawnSync('python3', ['-c', py, srv.dir, order], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return undefined;
  return JSON.parse(r.stdout.trim());
}
let archivedOrder;
const hasPython = spawnSync('python3', ['-c', 'import sqlite3'], { timeout: 10_000 }).status === 0;

test('b8_j6_room_closes_after_the_ttl_is_archived_and_its_storage_emptied', async () => {
  const order = orderId('close');
  const canary = 'Zyxquorth';
  let r = await call(u(order), {
    method: 'POST', token: ph(),
    body: { participants: [{ user: 'dr-1', role: 'driver' }, { user: 'pt-1', role: 'patient' }], record: { patient_name: `Maria ${canary}` } },
  });
  assert.equal(r.status, 201, r.text);
  const texts = [`hello Maria ${canary}`, 'on the way', 'left at the door'];
  for (const [i, t] of texts.entries()) assert.equal((await send(order, ph(), `m-${i}`, t)).status, 201);
  const p = await openSocket(`${srv.wsUrl}/v1/rooms/${order}/live`, { protocols: ['rxroom.v1', `bearer.${ph()}`] });
  await p.next('ready');

  r = await call(u(order, '/delivered'), { method: 'POST', token: tok.driver('dr-1', order), body: {} });
  assert.equal(r.status, 200, r.text);
  const closesAt = r.json.closes_at_ms;
  assert.equal(closesAt - r.json.delivered_at_ms, 4000);
  assert.equal((await call(u(order), { token: ph() })).status, 200, 'open before the close TTL');

  // The socket is closed with ROOM_CLOSED when the room closes and is archived.
  const c = await p.closed(15_000).catch((e) => {
    throw new Error(`${e.message}; log tail:\n${srv.logs().split('\n').filter((l) => l.startsWith('{') && !l.includes('health')).slice(-8).join('\n')}`);
  });
  assert.equal(c.code, 4410);
  assert.equal(c.reason, 'ROOM_CLOSED');

  // After close: refused for everyone, and once archived the answer equals a missing room's.
  const archiveDir = join(srv.dir, 'v3', 'r2', 'rxroom-dev-archive');
  const blobs = await waitFor(() => { const f = listFiles(archiveDir); return f.length ? f : null; }, 15_000);
  assert.ok(blobs?.length >= 1, 'an archive object exists in the local R2 bucket');
  for (const f of blobs) {
    assert.ok(!readFileSync(f).includes(canary), 'the archive is sealed (no plaintext)');
  }
  const missing = await call(u(orderId('never')), { token: ph() });
  for (const [token, who] of [[ph(), 'pharmacist'], [tok.patient('pt-1', order), 'patient'], [tok.driver('dr-1', order), 'driver']]) {
    for (const [method, path, body] of [['GET', ''], ['GET', '/messages'], ['POST', '/messages', { client_id: 'late', text: 'late' }]]) {
      const x = await call(u(order, path), { method, body, token });
      assert.ok([403, 410].includes(x.status), `${who} ${method} ${path}: ${x.status}`);
      assert.ok(['FORBIDDEN', 'ROOM_CLOSED'].includes(x.json.code), x.text);
      if (who === 'pharmacist' && path === '') {
        assert.equal(x.status, 403, 'archived room view is gone');
        assert.equal(x.json.code, missing.json.code);
        assert.equal(x.json.message, missing.json.message);
      }
    }
  }
  // The room's own tables are empty; its audit tables remain.
  if (hasPython) {
    const counts = roomTables(order);
    assert.ok(counts, 'the room database is found by its chain');
    for (const t of ['meta', 'messages', 'receipts']) {
      assert.ok(!(t in counts) || counts[t] === 0, `${t} emptied: ${JSON.stringify(counts)}`);
    }
    assert.ok((counts.audit_outbox ?? 0) + (counts.audit_head ?? 0) > 0, 'audit tables kept');
  }

  // The export still works: messages from the archive, the full event chain.
  const e = await call(u(order, '/audit/export'), { token: tok.auditor('au-1', TENANT) });
  assert.equal(e.status, 200, e.text);
  const ex = parseExport(e.text);
  assert.deepEqual(ex.messages.map((m) => m.text), texts);
  assert.deepEqual(ex.messages.map((m) => m.seq), [1, 2, 3]);
  const actions = ex.events.map((ev) => ev.action);
  assert.deepEqual(actions.filter((a) => a !== 'message_read' && a !== 'live_connected'), [
    'room_created', 'message_sent', 'message_sent', 'message_sent', 'delivered_marked', 'access_ended', 'room_archived', 'audit_exported',
  ]);
  assert.deepEqual(ex.events.map((ev) => ev.seq), ex.events.map((_, i) => i + 1));
  for (let i = 1; i < ex.events.length; i++) assert.equal(ex.events[i].prev_hash, ex.events[i - 1].hash);
  assert.equal(ex.trailer.head_seq, ex.events.length);
  assert.equal(ex.trailer.messages, 3);
  const archived = ex.events.find((ev) => ev.action === 'room_archived');
  assert.ok(archived.ts_ms >= closesAt, 'archived at or after the close time');
  archivedOrder = { order, texts, exportText: e.text };
});

test('f_an_archived_order_cannot_be_recreated_and_keeps_its_history_in_the_export', async (t) => {
  if (!archivedOrder) { t.skip('needs the archived room of the previous test'); return; }
  const { order, texts } = archivedOrder;
  // One room per order: its tenant gets ROOM_CLOSED, anyone else the outsider's FORBIDDEN.
  const again = await call(u(order), { method: 'POST', token: ph(), body: { participants: [], record: {} } });
  assert.equal(again.status, 410, again.text);
  assert.equal(again.json.code, 'ROOM_CLOSED');
  const other = await call(u(order), { method: 'POST', token: tok.pharmacist('ph-z', 'pharmacy-2'), body: { participants: [], record: {} } });
  assert.equal(other.status, 403, other.text);
  assert.equal(other.json.code, 'FORBIDDEN');
  // The order's history is intact: the archived messages and one continuing chain.
  const e2 = await call(u(order, '/audit/export'), { token: tok.auditor('au-1', TENANT) });
  assert.equal(e2.status, 200, e2.text);
  const ex2 = parseExport(e2.text);
  assert.deepEqual(ex2.messages.map((m) => m.text), texts);
  assert.deepEqual(ex2.events.map((ev) => ev.seq), ex2.events.map((_, i) => i + 1), 'one chain continues');
  assert.equal(ex2.events.filter((ev) => ev.action === 'room_created').length, 1);
});

/** The audit public key (standard base64) for the deployment's AUDIT_SIGNING_KEY seed. */
function auditPublicKey(seedB64) {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedB64, 'base64')]);
  const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
  return Buffer.from(jwk.x, 'base64url').toString('base64');
}

test('f1_signed_checkpoints_in_the_bucket_catch_a_truncated_export', { timeout: 900_000 }, async (t) => {
  if (!archivedOrder) { t.skip('needs the archived room of the first test'); return; }
  const { order, exportText } = archivedOrder;
  // The archival flush wrote signed checkpoints next to the segments in the audit bucket.
  const checkpoints = [];
  for (const f of listFiles(join(srv.dir, 'v3', 'r2', 'rxroom-dev-audit'))) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      try {
        const o = JSON.parse(line);
        if (o && o.signature && o.chain_id === order) checkpoints.push(line);
      } catch { /* a segment or binary */ }
    }
  }
  assert.ok(checkpoints.length >= 1, 'a signed checkpoint for the archived order');
  const dir = mkdtempSync(join(tmpdir(), 'rxroom-ckpt-'));
  try {
    const ck = join(dir, 'checkpoints.jsonl');
    writeFileSync(ck, checkpoints.join('\n') + '\n');
    const pub = auditPublicKey(vars.AUDIT_SIGNING_KEY);
    const verify = (file, key = pub) => spawnSync('cargo', ['run', '-q', '-p', 'rxroom-cli', '--', 'audit', 'verify', file, '--checkpoints', ck, '--pubkey', key], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    const good = join(dir, 'export.jsonl');
    writeFileSync(good, exportText);
    let r = verify(good);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /signatures checked/);

    // Truncate: drop the last flushed events and rewrite the trailer to match what is left, so
    // the export is self-consistent; only the signed checkpoint can tell.
    const ex = parseExport(exportText);
    const ckSeq = Math.max(...checkpoints.map((l) => JSON.parse(l).seq));
    const keep = ex.events.filter((e) => e.seq <= ckSeq - 2);
    const last = keep.at(-1);
    const lines = [
      JSON.stringify({ ...ex.header, events: keep.length }),
      ...keep.map((e) => JSON.stringify(e)),
      ...ex.messages.map((m) => JSON.stringify(m)),
      JSON.stringify({ ...ex.trailer, events: keep.length, head_seq: last.seq, head_hash: last.hash }),
    ];
    const cut = join(dir, 'truncated.jsonl');
    writeFileSync(cut, lines.join('\n') + '\n');
    const plain = spawnSync('cargo', ['run', '-q', '-p', 'rxroom-cli', '--', 'audit', 'verify', cut], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    assert.equal(plain.status, 0, `the truncated export is self-consistent without checkpoints: ${plain.stdout}${plain.stderr}`);
    r = verify(cut);
    assert.notEqual(r.status, 0, `truncation must be caught by the checkpoint: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /truncat/i);

    // A checkpoint checked against another key fails too.
    r = verify(good, auditPublicKey(Buffer.alloc(32, 7).toString('base64')));
    assert.notEqual(r.status, 0, 'checkpoint signed by another key');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('j1_j3_j5_restart_mid_conversation_loses_and_duplicates_nothing_acknowledged', async () => {
  const order = orderId('restart');
  let r = await call(u(order), { method: 'POST', token: ph(), body: { participants: [{ user: 'pt-1', role: 'patient' }], record: {} } });
  assert.equal(r.status, 201, r.text);
  const pt = () => tok.patient('pt-1', order);
  const acks = [];
  for (let i = 0; i < 5; i++) {
    const a = await send(order, i % 2 ? pt() : ph(), `r-${i}`, `before restart ${i}`);
    assert.equal(a.status, 201);
    acks.push(a.json);
  }
  await srv.restart();

  // J3: the retry of the last message after the restart gets the same ack and no copy.
  const retry = await send(order, ph(), 'r-4', 'before restart 4');
  assert.equal(retry.status, 200, retry.text);
  assert.deepEqual(retry.json, acks[4]);
  const conflict = await send(order, ph(), 'r-4', 'other text');
  assert.equal(conflict.status, 409);
  // J5: the sequence continues from storage.
  const next = await send(order, pt(), 'r-5', 'after restart');
  assert.equal(next.status, 201);
  assert.equal(next.json.seq, 6);
  const msgs = await allMessages(order, ph());
  assert.deepEqual(msgs.map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(msgs.map((m) => m.id), ['r-0', 'r-1', 'r-2', 'r-3', 'r-4', 'r-5']);
  assert.deepEqual(msgs.slice(0, 5).map((m) => m.server_time), acks.map((a) => a.server_time));
});

test('j1_j9_sends_in_flight_during_a_restart: every acked message survives once, retries dedupe', async () => {
  const order = orderId('inflight');
  let r = await call(u(order), { method: 'POST', token: ph(), body: { participants: [], record: {} } });
  assert.equal(r.status, 201, r.text);
  const N = 30;
  const results = new Array(N);
  const inflight = Array.from({ length: N }, async (_, i) => {
    await sleep(i * 15);
    try {
      const a = await send(order, ph(), `f-${i}`, `flight ${i}`);
      results[i] = a.status === 201 ? a.json : null;
    } catch { results[i] = null; }
  });
  await sleep(150);
  const restarting = srv.restart();
  await Promise.all(inflight);
  await restarting;
  const acked = results.map((a, i) => [i, a]).filter(([, a]) => a);
  // Every acked message is stored exactly once with its acked sequence.
  let msgs = await allMessages(order, ph());
  for (const [i, a] of acked) {
    const m = msgs.filter((x) => x.id === `f-${i}`);
    assert.equal(m.length, 1, `acked f-${i} present once`);
    assert.equal(m[0].seq, a.seq);
  }
  // Retrying every message (as a client would) yields exactly one copy of each, gap-free.
  for (let i = 0; i < N; i++) {
    const a = await send(order, ph(), `f-${i}`, `flight ${i}`);
    assert.ok([200, 201].includes(a.status), a.text);
    if (results[i]) assert.deepEqual(a.json, results[i], `ack of f-${i} unchanged`);
  }
  msgs = await allMessages(order, ph());
  assert.equal(msgs.length, N);
  assert.deepEqual(msgs.map((m) => m.seq), Array.from({ length: N }, (_, i) => i + 1));
  assert.equal(new Set(msgs.map((m) => m.id)).size, N);
});
