// Identity at every entry point, through the real runtime (issue 3; SECURITY A1, A5, A6, A7,
// A9, D8, G3): every route and the WebSocket upgrade refuse bad tokens with one 401 answer,
// never a 500; a token in the URL is never read; a token for another region gets 403.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startTestServer, call, orderId, makeIssuer, openSocket } from './harness.mjs';

let srv;
let tok;
let issuer;
const ORDER = orderId('auth');
const TENANT = 'pharmacy-1';
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

before(async () => {
  ({ srv, tok, issuer } = await startTestServer({ WS_AUTH_TIMEOUT_SECS: '2' }));
  const r = await call(`${srv.url}/v1/rooms/${ORDER}`, {
    method: 'POST', token: tok.pharmacist('ph-1', TENANT),
    body: { participants: [{ user: 'dr-1', role: 'driver' }], record: {} },
  });
  assert.equal(r.status, 201, r.text);
});
after(async () => { await srv?.stop(); });

/** Every HTTP route with a body it would accept from an authorized caller. */
const ROUTES = () => [
  ['POST', `/v1/rooms/${orderId('new')}`, { participants: [], record: {} }],
  ['GET', `/v1/rooms/${ORDER}`],
  ['POST', `/v1/rooms/${ORDER}/messages`, { client_id: 'a-1', text: 'hello' }],
  ['GET', `/v1/rooms/${ORDER}/messages`],
  ['GET', `/v1/rooms/${ORDER}/messages?after=0&limit=5`],
  ['POST', `/v1/rooms/${ORDER}/delivered`, {}],
  ['POST', `/v1/rooms/${ORDER}/read`, { seq: 1 }],
  ['POST', `/v1/rooms/${ORDER}/emergency`, { reason: 'patient_safety', note: 'n', duration_secs: 60 }],
  ['GET', `/v1/rooms/${ORDER}/audit/export`],
];

/** Bad tokens, each for a pharmacist of the room's tenant (so only the token is wrong). */
function badTokens() {
  const claims = { sub: 'ph-1', role: 'pharmacist', tenant: TENANT };
  const foreign = makeIssuer(issuer.kid); // same kid, another key
  const otherKid = makeIssuer();
  const t = now();
  const good = issuer.token(claims);
  const [, goodBody] = good.split('.');
  return {
    'expired (A5)': issuer.token({ ...claims, iat: t - 900, exp: t - 120 }),
    'no exp (A5)': issuer.token({ ...claims, exp: undefined }),
    'not yet valid nbf (A6)': issuer.token({ ...claims, nbf: t + 300 }),
    'issued in the future': issuer.token({ ...claims, iat: t + 300, exp: t + 900 }),
    'wrong audience (A7)': issuer.token({ ...claims, aud: 'other-service' }),
    'audience array without ours (A7)': issuer.token({ ...claims, aud: ['a', 'b'] }),
    'wrong issuer (A7)': issuer.token({ ...claims, iss: 'https://evil.example/' }),
    'foreign key, same kid': foreign.token(claims),
    'foreign key, unknown kid (A3)': otherKid.token(claims),
    'lifetime over an hour': issuer.token({ ...claims, iat: t, exp: t + 7200 }),
    'alg none, no signature (A1)': `${b64({ alg: 'none', typ: 'JWT' })}.${goodBody}.`,
    'alg none, kid and signature (A1)': `${b64({ alg: 'none', typ: 'JWT', kid: issuer.kid })}.${goodBody}.${good.split('.')[2]}`,
    'alg None (A1)': `${b64({ alg: 'None', typ: 'JWT', kid: issuer.kid })}.${goodBody}.`,
    'signature stripped': good.split('.').slice(0, 2).join('.') + '.',
    'garbage': 'not-a-token',
  };
}

function assert401(r, what) {
  assert.equal(r.status, 401, `${what}: ${r.status} ${r.text}`);
  assert.deepEqual(Object.keys(r.json).sort(), ['code', 'message', 'request_id'], what);
  assert.equal(r.json.code, 'UNAUTHENTICATED', what);
  return r.json.message;
}

test('a_every_route_refuses_a_missing_token_with_401', async () => {
  for (const [method, path, body] of ROUTES()) {
    assert401(await call(`${srv.url}${path}`, { method, body }), `${method} ${path}`);
    assert401(await call(`${srv.url}${path}`, { method, body, headers: { authorization: 'Basic Zm9vOmJhcg==' } }), `basic ${method} ${path}`);
  }
});

test('a1_a5_a6_a7_every_route_refuses_bad_tokens_with_one_401_answer', async () => {
  const messages = new Set();
  for (const [what, t] of Object.entries(badTokens())) {
    for (const [method, path, body] of ROUTES()) {
      const r = await call(`${srv.url}${path}`, { method, body, token: t });
      messages.add(assert401(r, `${what}: ${method} ${path}`));
    }
  }
  assert.equal(messages.size, 1, 'one message whatever the reason');
  // The reason is in the log by name, never the token.
  const logs = srv.logs();
  for (const reason of ['expired', 'wrong_audience', 'bad_signature', 'alg_not_allowed']) {
    assert.ok(logs.includes(`"reason":"${reason}"`), `log reason ${reason}`);
  }
  for (const t of Object.values(badTokens()).filter((x) => x.length > 40)) {
    assert.ok(!logs.includes(t.split('.')[1]), 'token claims never logged');
  }
});

test('a9_token_for_another_region_is_403_forbidden', async () => {
  const t = tok.pharmacist('ph-1', TENANT, { region: 'eu' });
  for (const [method, path, body] of ROUTES()) {
    const r = await call(`${srv.url}${path}`, { method, body, token: t });
    assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    assert.equal(r.json.code, 'FORBIDDEN');
  }
});

test('d8_g3_token_in_the_url_query_is_ignored', async () => {
  const t = tok.pharmacist('ph-1', TENANT);
  for (const q of [`?token=${t}`, `?access_token=${t}`, `?authorization=Bearer%20${t}`]) {
    assert401(await call(`${srv.url}/v1/rooms/${ORDER}${q}`), `query ${q.slice(0, 14)}`);
    assert401(await call(`${srv.url}/v1/rooms/${ORDER}/messages${q}`), `query ${q.slice(0, 14)}`);
  }
  // A socket with the token only in the URL is not authenticated: no ready frame, and it is
  // closed with 4401 when the auth timeout (2 s here) passes.
  const s = await openSocket(`${srv.wsUrl}/v1/rooms/${ORDER}/live?token=${t}&access_token=${t}`);
  const closed = await s.closed(10_000);
  assert.equal(closed.code, 4401);
  assert.equal(closed.reason, 'AUTH_TIMEOUT');
  assert.equal(s.frames.filter((f) => f.type === 'ready').length, 0);
});

test('websocket upgrade refuses bad tokens in the subprotocol and the authorization header with 401', async () => {
  const url = `${srv.wsUrl}/v1/rooms/${ORDER}/live`;
  for (const [what, t] of Object.entries(badTokens())) {
    if (!/^[A-Za-z0-9._-]+$/.test(t)) continue;
    for (const opts of [
      { protocols: ['rxroom.v1', `bearer.${t}`] },
      { headers: { authorization: `Bearer ${t}` } },
    ]) {
      const err = await openSocket(url, opts).then((s) => { s.terminate(); return null; }, (e) => e);
      assert.ok(err, `${what}: upgrade must be refused`);
      assert.equal(err.status, 401, `${what}: ${err.message}`);
      assert.equal(err.json?.code, 'UNAUTHENTICATED', what);
    }
  }
  const eu = tok.driver('dr-1', ORDER, { region: 'eu' });
  const err = await openSocket(url, { protocols: ['rxroom.v1', `bearer.${eu}`] }).then(() => null, (e) => e);
  assert.equal(err?.status, 403, 'another region: 403');
});

test('websocket first-frame auth with a bad token closes 4401; a good one gets ready', async () => {
  const url = `${srv.wsUrl}/v1/rooms/${ORDER}/live`;
  const bad = badTokens();
  for (const what of ['expired (A5)', 'alg none, kid and signature (A1)', 'foreign key, same kid', 'wrong audience (A7)']) {
    const s = await openSocket(url);
    s.send({ type: 'auth', token: bad[what], last_seq: 0 });
    const c = await s.closed(10_000);
    assert.equal(c.code, 4401, what);
    assert.equal(s.frames.filter((f) => f.type === 'ready').length, 0, what);
  }
  const s = await openSocket(url);
  s.send({ type: 'auth', token: tok.driver('dr-1', ORDER), last_seq: 0 });
  const ready = await s.next('ready', 10_000);
  assert.equal(typeof ready.last_seq, 'number');
  s.close();
});

test('a valid token still works after the refusals (no 500 poisoned the runtime)', async () => {
  const r = await call(`${srv.url}/v1/rooms/${ORDER}`, { token: tok.pharmacist('ph-1', TENANT) });
  assert.equal(r.status, 200, r.text);
  const logs = srv.logs();
  assert.ok(!/"status":5\d\d/.test(logs), 'no 5xx in the request log');
});

/** Header, encoding and size tricks (A2, A4, A8, A10-A13), all for an otherwise valid pharmacist. */
function trickTokens() {
  const claims = { sub: 'ph-1', role: 'pharmacist', tenant: TENANT };
  const t = now();
  const body = { iss: 'rxroom-dev', aud: 'rxroom', iat: t, exp: t + 600, region: 'us', dev: 'device-1', ...claims };
  const good = issuer.token(claims);
  const [h, p, sig] = good.split('.');
  const hmac = (key, header) => {
    const input = `${b64(header)}.${b64(body)}`;
    return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
  };
  const attacker = makeIssuer();
  return {
    'A2 HS256 MACed with the JWK x': hmac(issuer.x, { alg: 'HS256', typ: 'JWT', kid: issuer.kid }),
    'A2 HS256 MACed with the raw public key': hmac(Buffer.from(issuer.x, 'base64url'), { alg: 'HS256', typ: 'JWT', kid: issuer.kid }),
    'A4 embedded jwk of the attacker': attacker.token(claims, { kid: issuer.kid, jwk: { kty: 'OKP', crv: 'Ed25519', x: attacker.x } }),
    'A4 jku': issuer.token(claims, { jku: 'https://evil.example/jwks.json' }),
    'A10 crit': issuer.token(claims, { crit: ['exp-ext'], 'exp-ext': 1 }),
    'A11 cty CBOR': issuer.token(claims, { cty: 'CBOR' }),
    'A12 typ at+jwt': issuer.token(claims, { typ: 'at+jwt' }),
    'A12 no typ': issuer.token(claims, { typ: undefined }),
    'A3 kid path': issuer.token(claims, { kid: '../../etc/passwd' }),
    'A3 kid number': issuer.signRaw(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid: 7 }), JSON.stringify(body)),
    'A3 kid 10 KB': issuer.token(claims, { kid: 'k'.repeat(5000) }),
    'A13 four segments': `${good}.${sig}`,
    'A13 padded base64': `${h}.${p}==.${sig}`,
    'A13 duplicate alg in header': issuer.signRaw(`{"alg":"EdDSA","typ":"JWT","kid":"${issuer.kid}","alg":"none"}`, JSON.stringify(body)),
    'A13 duplicate role in claims': issuer.signRaw(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid: issuer.kid }), JSON.stringify(body).replace('"role":"pharmacist"', '"role":"patient","role":"pharmacist"')),
    'A5 exp as string': issuer.token({ ...claims, exp: String(t + 600) }),
    'A5 exp huge': issuer.token({ ...claims, exp: 1e300 }),
    'A8 token over 8 KiB': issuer.token({ ...claims, pad: 'a'.repeat(9000) }),
  };
}

test('a2_a3_a4_a8_a10_to_a13_header_encoding_and_size_tricks_are_401', async () => {
  const path = `/v1/rooms/${ORDER}/messages`;
  // Control: the same claims, honestly signed, are accepted.
  assert.equal((await call(`${srv.url}${path}`, { token: issuer.token({ sub: 'ph-1', role: 'pharmacist', tenant: TENANT }) })).status, 200);
  for (const [what, t] of Object.entries(trickTokens())) {
    assert401(await call(`${srv.url}${path}`, { token: t }), what);
    if (/^[A-Za-z0-9._-]+$/.test(t)) { // "=" is no subprotocol token character
      const err = await openSocket(`${srv.wsUrl}/v1/rooms/${ORDER}/live`, { protocols: ['rxroom.v1', `bearer.${t}`] }).then((s) => { s.terminate(); return null; }, (e) => e);
      assert.ok(err && [401, 431].includes(err.status), `${what} over the socket: ${err?.status}`);
    }
  }
});

test('a8_a_64_kib_bearer is refused with 401 or 431, never 500', async () => {
  const huge = 'eyJ' + 'A'.repeat(64 * 1024);
  const r = await call(`${srv.url}/v1/rooms/${ORDER}/messages`, { token: huge }).catch((e) => ({ status: 0, text: String(e) }));
  assert.ok([401, 431].includes(r.status), `${r.status} ${r.text?.slice(0, 200)}`);
  const ok = await call(`${srv.url}/v1/rooms/${ORDER}`, { token: tok.pharmacist('ph-1', TENANT) });
  assert.equal(ok.status, 200);
});
