// Production mode on the local runtime (164.312(e), issue 6): a deployment with a missing or
// short data key answers 503 CONFIG_INVALID instead of running unencrypted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, call, makeIssuer, makeDataKeys } from './harness.mjs';

const servers = [];
after(async () => { for (const s of servers) await s.stop(); });

function productionVars(issuer, overrides = {}) {
  return {
    ENVIRONMENT: 'production',
    AUTH_ISSUER: 'rxroom-dev',
    AUTH_AUDIENCE: 'rxroom',
    AUTH_JWKS: issuer.jwks,
    ...makeDataKeys(),
    AUDIT_SIGNING_KEY: randomBytes(32).toString('base64'),
    ROOM_NAME_KEY: randomBytes(32).toString('base64'),
    ...overrides,
  };
}

// The 426 TLS_REQUIRED path cannot be reached through `wrangler dev`: the local runtime gives
// every request a placeholder `request.cf` whose tlsVersion is "TLSv1.3". The gate itself is
// `rxroom_core::claims::tls_acceptable`, unit-tested in shared/tests; this checks that a
// production-mode deployment with valid config serves (so the gate let TLSv1.3 through).
test('g1_outside_dev_a_tls13_request_is_served', async () => {
  const issuer = makeIssuer();
  const srv = await startServer({ vars: productionVars(issuer) });
  servers.push(srv);
  const token = issuer.token({ sub: 'pharm-1', role: 'pharmacist', tenant: 'pharmacy-1' });
  const r = await call(`${srv.url}/v1/rooms/ord-1`, { token });
  assert.equal(r.status, 403, 'reaches the room (which does not exist), not a TLS refusal');
  assert.equal(r.json.code, 'FORBIDDEN');
});

test('h7_missing_data_key_outside_dev_answers_503_config_invalid_and_logs_the_reason_once', async () => {
  const issuer = makeIssuer();
  const srv = await startServer({ vars: productionVars(issuer, { DATA_KEYS: ' ' }), readyStatus: 503 });
  servers.push(srv);
  for (let i = 0; i < 3; i++) {
    const r = await call(`${srv.url}/v1/rooms/ord-1`, { token: issuer.token({ sub: 'p', role: 'pharmacist', tenant: 't' }) });
    assert.equal(r.status, 503);
    assert.equal(r.json.code, 'CONFIG_INVALID');
  }
  const health = await call(`${srv.url}/v1/health`);
  assert.equal(health.status, 503);
  const refusals = srv.logs().split('\n').filter((l) => l.includes('"event":"config_invalid"'));
  assert.equal(refusals.length, 1, 'the reason is logged once per isolate');
  assert.match(refusals[0], /"reason":"data_keys"/);
});

test('config_short_data_key_outside_dev_is_refused', async () => {
  const issuer = makeIssuer();
  const srv = await startServer({
    vars: productionVars(issuer, { DATA_KEYS: `k1:${randomBytes(16).toString('base64')}`, DATA_KEY_ACTIVE: 'k1' }),
    readyStatus: 503,
  });
  servers.push(srv);
  const r = await call(`${srv.url}/v1/health`);
  assert.equal(r.status, 503);
  assert.equal(r.json.code, 'CONFIG_INVALID');
});
