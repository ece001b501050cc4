// Encryption at rest, seen from the outside (issue 6; SECURITY H7, G2, F6): after a conversation
// with planted canaries, no file the runtime wrote (Durable Object SQLite, R2 blobs) and no log
// line holds a canary in plaintext or any key material. The auditor's export does hold the
// canaries, which proves the scan would have found them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTestServer, call, orderId, openSocket, listFiles, parseExport, waitFor } from './harness.mjs';

let srv;
let tok;
let vars;
const TENANT = 'pharmacy-1';
const u = (order, rest = '') => `${srv.url}/v1/rooms/${order}${rest}`;
const ph = () => tok.pharmacist('ph-1', TENANT);

// Unique per run, so a hit can only come from this run's data.
const letters = (n) => Array.from(randomBytes(n), (b) => 'bcdfghjklmnpqrstvwxz'[b % 20]).join('');
const SURNAME = `Vorhen${letters(6)}`;
const MEDICATION = `quelvatrex${letters(5)}`;
const SSN = `900-${String(10 + (randomBytes(1)[0] % 89))}-${String(1000 + (randomBytes(2).readUInt16BE() % 8999))}`;
const MRN = `${7}${Array.from(randomBytes(8), (b) => b % 10).join('')}`;
const NOTE = `Zephyrine${letters(6)}`; // plain text, no PHI label: must still be sealed
const CANARIES = { SURNAME, MEDICATION, SSN, MRN, NOTE };

const LIVE = orderId('scan-live');
const GONE = orderId('scan-gone');

before(async () => {
  ({ srv, tok, vars } = await startTestServer({ DRIVER_TTL_SECS: '1', CLOSE_TTL_SECS: '3', INGEST_REJECT_ROLES: 'driver' }));
});
after(async () => { await srv?.stop(); });

/** Key material as it could appear on disk or in a log. */
function keyNeedles() {
  const out = [];
  const add = (name, b64) => {
    const raw = Buffer.from(b64, 'base64');
    out.push([`${name} base64`, Buffer.from(b64)]);
    out.push([`${name} base64url`, Buffer.from(raw.toString('base64url'))]);
    out.push([`${name} hex`, Buffer.from(raw.toString('hex'))]);
    out.push([`${name} raw`, raw]);
  };
  for (const entry of vars.DATA_KEYS.split(',')) {
    const [id, b64] = entry.split(':');
    add(`data key ${id}`, b64);
  }
  add('audit signing key', vars.AUDIT_SIGNING_KEY);
  add('room name key', vars.ROOM_NAME_KEY);
  return out;
}

async function converse(order, { deliver }) {
  const record = { patient_name: `Maria ${SURNAME}`, dob: '1961-04-02', mrn: MRN, medications: [MEDICATION], phone: '(202) 555-0154' };
  let r = await call(u(order), {
    method: 'POST', token: ph(),
    body: { participants: [{ user: 'dr-1', role: 'driver' }, { user: 'pt-1', role: 'patient' }], record },
  });
  assert.equal(r.status, 201, r.text);
  const pt = tok.patient('pt-1', order);
  const dr = tok.driver('dr-1', order);
  const texts = [
    [ph(), `Maria ${SURNAME}, your ${MEDICATION} is ready. MRN ${MRN}.`],
    [pt, `My SSN is ${SSN} if you need it. ${NOTE}`],
    [ph(), `Noted, ${SURNAME}. ${NOTE} again.`],
  ];
  for (const [i, [t, text]] of texts.entries()) {
    r = await call(u(order, '/messages'), { method: 'POST', token: t, body: { client_id: `c-${i}`, text } });
    assert.equal(r.status, 201, r.text);
  }
  // Over the socket too.
  const s = await openSocket(`${srv.wsUrl}/v1/rooms/${order}/live`, { protocols: ['rxroom.v1', `bearer.${pt}`] });
  await s.next('ready');
  s.send({ type: 'send', client_id: 'ws-1', text: `${NOTE} via socket, ${SURNAME}` });
  await s.next('ack');
  s.close();
  // Errors with canaries in them (G2): conflict, oversize, malformed JSON, PHI rejected.
  r = await call(u(order, '/messages'), { method: 'POST', token: ph(), body: { client_id: 'c-0', text: `conflict ${SSN} ${SURNAME}` } });
  assert.equal(r.status, 409);
  r = await call(u(order, '/messages'), { method: 'POST', token: ph(), body: { client_id: 'big', text: `${SURNAME} `.repeat(600) } });
  assert.equal(r.status, 413);
  r = await call(u(order, '/messages'), { method: 'POST', token: ph(), body: `{"client_id":"bad","text":"${SURNAME} ${SSN}"`, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 400);
  r = await call(u(order, '/messages'), { method: 'POST', token: dr, body: { client_id: 'rej', text: `patient SSN ${SSN}, ${NOTE}` } });
  assert.equal(r.status, 422, r.text);
  assert.equal(r.json.code, 'PHI_REJECTED');
  assert.ok(r.json.labels.includes('SSN'), r.text);
  for (const v of Object.values(CANARIES)) {
    // No error body echoes input.
    assert.ok(!r.text.includes(v));
  }
  if (deliver) {
    r = await call(u(order, '/delivered'), { method: 'POST', token: ph(), body: {} });
    assert.equal(r.status, 200);
  }
}

test('h7_g2_no_canary_or_key_material_in_storage_or_logs', async () => {
  await converse(LIVE, { deliver: false });
  await converse(GONE, { deliver: true });
  const archiveDir = join(srv.dir, 'v3', 'r2', 'rxroom-dev-archive');
  assert.ok(await waitFor(() => listFiles(archiveDir).length > 0, 15_000), 'the delivered room was archived');

  // The export holds the canaries in full: the scan below would see them if they were stored.
  for (const order of [LIVE, GONE]) {
    const e = await call(u(order, '/audit/export'), { token: tok.auditor('au-1', TENANT) });
    assert.equal(e.status, 200, e.text);
    const ex = parseExport(e.text);
    const text = ex.messages.map((m) => m.text).join('\n');
    for (const [name, v] of Object.entries(CANARIES)) {
      if (name === 'MRN') continue; // the MRN is in the record, not necessarily in a message
      assert.ok(text.includes(v), `export of ${order} holds ${name}`);
    }
    assert.equal(ex.messages.length, 4);
    assert.ok(!ex.messages.some((m) => m.text.includes('patient SSN')), 'rejected message not stored');
    // F6: audit events carry no canary.
    const events = ex.lines.filter((l) => l.includes('"type":"event"')).join('\n');
    for (const [name, v] of Object.entries(CANARIES)) assert.ok(!events.includes(v), `audit event holds ${name}`);
  }

  const files = listFiles(srv.dir);
  assert.ok(files.some((f) => f.includes(`${join('v3', 'do', 'rxroom-ChatRoom')}`) && f.endsWith('.sqlite')), 'room databases scanned');
  assert.ok(files.some((f) => f.includes(join('r2', 'rxroom-dev-archive', 'blobs'))), 'archive blobs scanned');
  assert.ok(files.some((f) => f.includes(join('r2', 'rxroom-dev-audit', 'blobs'))), 'audit blobs scanned');
  const needles = [
    ...Object.entries(CANARIES).flatMap(([name, v]) => [
      [name, Buffer.from(v)],
      [`${name} (utf-16)`, Buffer.from(v, 'utf16le')],
      [`${name} (lowercase)`, Buffer.from(v.toLowerCase())],
    ]),
    ...keyNeedles(),
  ];
  const hits = [];
  let bytes = 0;
  for (const f of files) {
    let buf;
    try { buf = readFileSync(f); } catch { continue; }
    bytes += buf.length;
    for (const [name, needle] of needles) if (buf.indexOf(needle) >= 0) hits.push(`${name} in ${f.slice(srv.dir.length)}`);
  }
  assert.ok(bytes > 0);
  // Positive control: clear fields (the order id, the chain's name) are found by the same scan,
  // in the room database and in the audit segments.
  const control = files.filter((f) => { try { return readFileSync(f).indexOf(Buffer.from(LIVE)) >= 0; } catch { return false; } });
  assert.ok(control.some((f) => f.endsWith('.sqlite') || f.endsWith('.sqlite-wal')), `order id found in a database: ${control}`);
  const flushed = files.filter((f) => f.includes('blobs') && readFileSync(f).indexOf(Buffer.from(GONE)) >= 0);
  assert.ok(flushed.length > 0, 'the archived order id is found in its flushed audit segment');
  assert.deepEqual(hits, [], 'plaintext or key material at rest');

  const logs = Buffer.from(srv.logs());
  const logHits = needles.filter(([, n]) => logs.indexOf(n) >= 0).map(([name]) => name);
  assert.deepEqual(logHits, [], 'canary or key in the logs');
});
