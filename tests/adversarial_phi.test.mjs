// Adversarial PHI leakage through the real runtime (SECURITY C6, C7, G2; LABELS.md §5): what a
// driver (and a dispatcher, who has the same view) receives in every field when a pharmacist or
// patient writes the order's own PHI in the ordinary ways people write it. Each test names the
// leak it looks for; a failing test here is PHI shown to a role that must never see it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, call, orderId, openSocket } from './harness.mjs';

let srv;
let tok;
const TENANT = 'pharmacy-1';
const u = (order, rest = '') => `${srv.url}/v1/rooms/${order}${rest}`;
const ph = () => tok.pharmacist('ph-1', TENANT);

before(async () => {
  ({ srv, tok } = await startTestServer());
});
after(async () => { await srv?.stop(); });

/** Creates a room for `record` with driver dr-1 and patient pt-1; returns its order id. */
async function room(record, prefix = 'phi') {
  const order = orderId(prefix);
  const r = await call(u(order), {
    method: 'POST', token: ph(),
    body: { participants: [{ user: 'dr-1', role: 'driver' }, { user: 'pt-1', role: 'patient' }, { user: 'ds-1', role: 'dispatcher' }], record },
  });
  assert.equal(r.status, 201, r.text);
  return order;
}

let n = 0;
/** Sends `text` as the pharmacist; returns the driver's view of it (history) and the labels. */
async function driverSees(order, text, client_id = `m-${++n}`) {
  const s = await call(u(order, '/messages'), { method: 'POST', token: ph(), body: { client_id, text } });
  assert.equal(s.status, 201, s.text);
  const h = await call(u(order, `/messages?after=${s.json.seq - 1}&limit=1`), { token: tok.driver('dr-1', order) });
  assert.equal(h.status, 200, h.text);
  const m = h.json.messages[0];
  assert.equal(m.seq, s.json.seq);
  return m;
}

/** Collects every leak of `secrets` (case-insensitive) in the driver's view of each text. */
async function leaks(order, cases) {
  const out = [];
  for (const [text, secrets] of cases) {
    const m = await driverSees(order, text);
    const hay = JSON.stringify(m).toLowerCase();
    for (const s of secrets) if (hay.includes(s.toLowerCase())) out.push(`${JSON.stringify(text)} -> driver sees ${JSON.stringify(m.text)} (leaks ${s})`);
  }
  return out;
}

test('c6_an_email_address_holding_the_patients_name_is_redacted_for_the_driver', async () => {
  const order = await room({ patient_name: 'Maria Haddad', medications: ['sertraline'] });
  // Control: an address without the name is found and hidden.
  const control = await driverSees(order, 'email bob.jones@example.com');
  assert.equal(control.text, 'email [EMAIL]');
  // The same detector loses the address as soon as a record name is inside it: the name finding
  // wins the overlap and the driver gets the rest of the address (an identifier, LABELS.md).
  const found = await leaks(order, [
    ['her email is maria@example.com', ['@example.com', 'maria@']],
    ['write to maria.haddad@gmail.com', ['@gmail.com']],
    ['write to haddad.m@gmail.com', ['@gmail.com', '.m@']],
  ]);
  assert.deepEqual(found, [], found.join('\n'));
});

test('c6_a_url_holding_the_patients_name_is_redacted_for_the_driver', async () => {
  const order = await room({ patient_name: 'Maria Haddad' });
  const control = await driverSees(order, 'see https://portal.example.com/patients/77');
  assert.ok(!control.text.includes('portal.example.com'), `control: ${control.text}`);
  const found = await leaks(order, [
    ['see https://portal.example.com/patients/haddad', ['portal.example.com', '/patients/']],
  ]);
  assert.deepEqual(found, [], found.join('\n'));
});

test('c6_c7_record_names_and_medications_with_non_ascii_capitals_are_redacted_for_the_driver', async () => {
  // Written exactly as in the record (or in capitals): the record matcher only lower-cases
  // ASCII, so a surname that starts with Ö, Ż, Ñ, Á… never matches and reaches the driver.
  const found = [];
  const a = await room({ patient_name: 'Zoë Öztürk' }, 'tr');
  found.push(...await leaks(a, [
    ['Zoë Öztürk', ['Öztürk']],
    ['Öztürk', ['Öztürk']],
    ['ÖZTÜRK at the door', ['ÖZTÜRK']],
  ]));
  const b = await room({ patient_name: 'José Núñez', medications: ['Ácido fólico'] }, 'es');
  found.push(...await leaks(b, [
    ['NÚÑEZ', ['NÚÑEZ']],
    ['Ácido fólico 5 mg', ['Ácido', 'fólico']],
  ]));
  const c = await room({ patient_name: 'Łukasz Żak' }, 'pl');
  found.push(...await leaks(c, [
    ['Łukasz Żak', ['Żak']],
    ['Żak', ['Żak']],
  ]));
  // Control: the lower-case forms are found, so the record itself was understood.
  const ctl = await driverSees(a, 'öztürk');
  assert.equal(ctl.text, '[NAME]');
  assert.deepEqual(found, [], found.join('\n'));
});

test('c6_record_member_id_and_dob_in_other_common_formats_are_redacted_for_the_driver', async () => {
  const order = await room({ patient_name: 'Maria Haddad', dob: '1956-03-04', member_id: 'XJH123456789' });
  // Controls: the forms the matcher knows.
  assert.equal((await driverSees(order, 'member XJH123456789')).text, 'member [INSURANCE_ID]');
  assert.equal((await driverSees(order, 'dob 03/04/1956')).text, 'dob [DOB]');
  const found = await leaks(order, [
    // Without a cue word the record's own id, written in groups, is not recognised.
    ['XJH 123 456 789 is on the card', ['123 456 789']],
    ['card says XJH-123-456-789', ['123-456-789']],
    ['born 19560304', ['19560304']],
    ['dob 03041956', ['03041956']],
  ]);
  assert.deepEqual(found, [], found.join('\n'));
});

test('c6_a_cyrillic_homoglyph_in_the_record_surname_is_redacted_for_the_driver', async () => {
  // "Hаddad" with U+0430 (Cyrillic a) reads as Haddad to the driver (C6: homoglyphs).
  const order = await room({ patient_name: 'Maria Haddad' });
  const m = await driverSees(order, 'leave it with the H\u0430ddad family');
  assert.ok(!m.text.includes('H\u0430ddad'), `driver sees ${m.text}`);
});

test('g2_the_client_message_id_is_no_side_channel_for_phi_to_the_driver', async () => {
  // client_id is free text ([A-Za-z0-9_-], 64 bytes) chosen by the sender and shown verbatim to
  // every role in history, live frames and the export, without any PHI scan.
  const order = await room({ patient_name: 'Maria Haddad', dob: '1956-03-04', medications: ['sertraline'] });
  const d = await openSocket(`${srv.wsUrl}/v1/rooms/${order}/live`, { protocols: ['rxroom.v1', `bearer.${tok.driver('dr-1', order)}`] });
  await d.next('ready');
  const id = 'Haddad-sertraline-dob-19560304';
  const s = await call(u(order, '/messages'), { method: 'POST', token: ph(), body: { client_id: id, text: 'on its way' } });
  assert.equal(s.status, 201, s.text);
  const live = await d.next((f) => f.type === 'message' && f.seq === s.json.seq);
  d.close();
  const h = await call(u(order, '/messages'), { token: tok.driver('dr-1', order) });
  const hist = h.json.messages.find((m) => m.seq === s.json.seq);
  for (const [where, view] of [['live frame', live], ['history', hist]]) {
    const txt = JSON.stringify(view).toLowerCase();
    for (const secret of ['haddad', 'sertraline', '19560304']) {
      assert.ok(!txt.includes(secret), `${where}: driver receives ${secret} in ${JSON.stringify(view)}`);
    }
  }
});

test('what held: driver and dispatcher views of the room, typing, read and ack frames carry no record value', async () => {
  const record = { patient_name: 'Maria Haddad', dob: '1956-03-04', mrn: '925737738', member_id: 'XJH123456789', medications: ['sertraline'], phone: '(202) 555-0154' };
  const secrets = ['haddad', '1956', '925737738', 'xjh123456789', 'sertraline', '555-0154'];
  const order = await room(record);
  const live = (t) => openSocket(`${srv.wsUrl}/v1/rooms/${order}/live`, { protocols: ['rxroom.v1', `bearer.${t}`] });
  const d = await live(tok.driver('dr-1', order));
  const p = await live(tok.patient('pt-1', order));
  await Promise.all([d.next('ready'), p.next('ready')]);
  const text = 'Maria Haddad, DOB 03/04/1956, MRN 925737738, member XJH123456789, sertraline, call (202) 555-0154, gate 4455';
  p.send({ type: 'typing', active: true, text });
  p.send({ type: 'send', client_id: 'held-1', text });
  const ack = await p.next('ack');
  p.send({ type: 'read', seq: ack.seq });
  const msg = await d.next((f) => f.type === 'message' && f.seq === ack.seq);
  assert.equal(msg.id, `m-${ack.seq}`, 'no client id (a PHI side channel) in the driver view');
  const typing = await d.next('typing');
  const read = await d.next('read');
  assert.ok(msg.text.includes('gate 4455') && msg.text.startsWith('Maria '), msg.text);
  const views = {
    'driver message frame': msg, 'typing frame': typing, 'read frame': read,
    'driver room view': (await call(u(order), { token: tok.driver('dr-1', order) })).json,
    'dispatcher room view': (await call(u(order), { token: tok.dispatcher('ds-1', TENANT) })).json,
    'dispatcher history': (await call(u(order, '/messages'), { token: tok.dispatcher('ds-1', TENANT) })).json,
    'driver history': (await call(u(order, '/messages'), { token: tok.driver('dr-1', order) })).json,
  };
  for (const [where, v] of Object.entries(views)) {
    const txt = JSON.stringify(v).toLowerCase();
    for (const s of secrets) assert.ok(!txt.includes(s), `${where} leaks ${s}: ${txt.slice(0, 300)}`);
  }
  d.close(); p.close();
  // No structured log line carries the text, and nothing panicked.
  const logs = srv.logs();
  assert.ok(!logs.includes('925737738') && !logs.includes('Haddad'), 'PHI in the logs');
  assert.ok(!/panicked|RuntimeError|unreachable/.test(logs), 'a panic in the logs');
});

test('c6_sensitive_diagnoses_and_drugs_in_lowercase_spanish_or_short_form_are_redacted_for_the_driver', async () => {
  // Not from the order record: the general lexicon. LABELS.md lists HIV as the DIAGNOSIS
  // example and the dev set has `lowercase` and `spanish` messages; "HIV" is caught, "hiv" is not.
  const order = await room({ patient_name: 'Maria Haddad' });
  assert.equal((await driverSees(order, 'HIV')).text, '[DIAGNOSIS]', 'control');
  assert.equal((await driverSees(order, 'insulin')).text, '[MEDICATION]', 'control');
  const found = await leaks(order, [
    ['she is hiv positive', ['hiv']],
    ['es VIH positivo', ['vih']],
    ['tiene sida', ['sida']],
    ['diagnosed with H.I.V.', ['h.i.v']],
    ['tiene esquizofrenia', ['esquizofrenia']],
    ['hep C clinic follow-up', ['hep c']],
    ['her PrEP refill', ['prep']],
    ['su insulina y metformina', ['insulina', 'metformina']],
    ['Narcan kit included', ['narcan']],
  ]);
  assert.deepEqual(found, [], found.join('\n'));
});

test('c6_a_record_name_stored_as_last_comma_first_keeps_the_surname_from_the_driver', async () => {
  // "HADDAD, MARIA" is how many pharmacy systems store names. The record matcher takes the
  // first token as the first name, so the surname becomes the part a driver may see.
  const order = await room({ patient_name: 'HADDAD, MARIA', medications: ['sertraline'] });
  assert.equal((await driverSees(order, 'sertraline')).text, '[MEDICATION]', 'control: the record was read');
  const found = await leaks(order, [
    ['Haddad', ['haddad']],
    ['Mrs Haddad will be home', ['haddad']],
    ['deliver to Haddad at the side door', ['haddad']],
  ]);
  assert.deepEqual(found, [], found.join('\n'));
});

test('c6_hyphenated_and_accented_record_surnames_are_redacted_for_the_driver_as_typed', async () => {
  // The record keeps "haddad-smith" as one token while messages are split at the hyphen, so
  // the exact surname from the record never matches; and a surname typed without its accent
  // ("Garcia" for "García") is the everyday spelling on a phone keyboard.
  const a = await room({ patient_name: 'Maria Haddad-Smith' }, 'hy');
  const b = await room({ patient_name: 'Ana María García López' }, 'acc');
  assert.equal((await driverSees(b, 'García')).text, '[NAME]', 'control: the accented form is found');
  const found = [
    ...await leaks(a, [
      ['Haddad-Smith', ['haddad']],
      ['Mrs Haddad-Smith at the back door', ['haddad', 'smith']],
      ['HADDAD-SMITH', ['haddad']],
    ]),
    ...await leaks(b, [
      ['Garcia', ['garcia']],
      ['for Lopez, gate 12', ['lopez']],
    ]),
  ];
  assert.deepEqual(found, [], found.join('\n'));
});

test('c6_a_record_medication_entered_with_strength_or_form_is_redacted_when_the_drug_is_named', async () => {
  // Pharmacy records carry strength and form ("<drug> 463.5 mg/1.5 mL injection"). The record
  // matcher only finds the whole entry, word for word, so the drug name alone (how people
  // write it) reaches the driver whenever the general lexicon does not know it: here two HIV
  // drugs, one of them written exactly as in the record.
  const order = await room({
    patient_name: 'Maria Haddad',
    medications: ['lenacapavir 463.5 mg/1.5 mL injection', 'Apretude (cabotegravir) 600 mg', 'zolvaprine-XR'],
  });
  const found = await leaks(order, [
    ['your lenacapavir shot is in the cooler', ['lenacapavir']],
    ['Apretude (cabotegravir) 600 mg', ['apretude', 'cabotegravir']],
    ['Apretude is in the bag', ['apretude']],
    ['zolvaprine-XR', ['zolvaprine']],
    ['your zolvaprine refill', ['zolvaprine']],
  ]);
  assert.deepEqual(found, [], found.join('\n'));
});
