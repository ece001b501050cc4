// Black-box harness: runs the real Worker under `wrangler dev` (workerd) on loopback with a
// throwaway state directory, waits for readiness with a bounded timeout, and stops it by PID.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync, sign, randomBytes } from 'node:crypto';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');
const READY_TIMEOUT_MS = 120_000;

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A fresh Ed25519 issuer for one test file: its JWKS goes to the server, it mints tokens. */
export function makeIssuer(kid = 'test-' + randomBytes(4).toString('hex')) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  const jwks = JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', kid, x: jwk.x, alg: 'EdDSA', use: 'sig' }] });
  const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
  return {
    kid,
    jwks,
    /** The public key as the JWK `x` member (base64url of the raw 32 bytes). */
    x: jwk.x,
    /** Signs exactly these header and claims JSON texts (for duplicate-key and encoding tests). */
    signRaw(headerJson, claimsJson) {
      const input = `${Buffer.from(headerJson).toString('base64url')}.${Buffer.from(claimsJson).toString('base64url')}`;
      return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
    },
    /** Signs `claims` (merged over sensible defaults) and returns the compact token. */
    token(claims = {}, header = {}) {
      const now = Math.floor(Date.now() / 1000);
      const body = {
        iss: 'rxroom-dev', aud: 'rxroom', iat: now, exp: now + 900,
        region: 'us', dev: 'device-1', ...claims,
      };
      for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
      const input = `${b64({ alg: 'EdDSA', typ: 'JWT', kid, ...header })}.${b64(body)}`;
      const sig = sign(null, Buffer.from(input), privateKey).toString('base64url');
      return `${input}.${sig}`;
    },
  };
}

/** Test data keys: two 32-byte keys, the second active. */
export function makeDataKeys() {
  const k = () => randomBytes(32).toString('base64');
  return { DATA_KEYS: `t1:${k()},t2:${k()}`, DATA_KEY_ACTIVE: 't2' };
}

/**
 * Starts `wrangler dev` on a free loopback port. `vars` are passed with --var (they override
 * wrangler.toml and .dev.vars). Returns { url, logs(), stop(), restart() }.
 */
export async function startServer({ vars = {}, persistTo, readyStatus = 200 } = {}) {
  const dir = persistTo ?? mkdtempSync(join(tmpdir(), 'rxroom-test-'));
  const port = await freePort();
  let out = '';
  let child;

  const launch = async () => {
    const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', dir,
      '--show-interactive-dev-session=false', '--log-level', 'log'];
    for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
    child = spawn(WRANGLER, args, {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: 'false',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        WRANGLER_HIDE_BANNER: 'true',
        NO_UPDATE_NOTIFIER: '1',
        CI: 'true',
      },
    });
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.exited = exited;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${out.slice(-4000)}`);
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v1/health`, { signal: AbortSignal.timeout(2000) });
        if (r.status === readyStatus) return;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 250));
    }
    await stopChild();
    throw new Error(`wrangler dev not ready within ${READY_TIMEOUT_MS} ms:\n${out.slice(-4000)}`);
  };

  const stopChild = async () => {
    if (!child || child.exitCode !== null) return;
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
    await child.exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    dir,
    logs: () => out,
    async stop({ keepState = false } = {}) {
      await stopChild();
      if (!keepState && !persistTo) rmSync(dir, { recursive: true, force: true });
    },
    /** Stops the runtime and starts it again on the same port and state directory. */
    async restart() {
      await stopChild();
      await launch();
    },
  };
}

/** fetch() returning { status, headers, json } with a bounded time. */
export async function call(url, { method = 'GET', token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload = body;
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
    payload = JSON.stringify(body);
    h['content-type'] = 'application/json';
  }
  const r = await fetch(url, { method, headers: h, body: payload, signal: AbortSignal.timeout(30_000) });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, headers: r.headers, json, text };
}

// ---------------------------------------------------------------------------------------------
// Helpers for the room, identity, live, lifecycle, storage and audit suites.

import { readdirSync, statSync } from 'node:fs';
import WebSocket from 'ws';

/** base64 of `n` random bytes. */
export const randomKey = (n = 32) => randomBytes(n).toString('base64');

/**
 * Vars for one test server, independent of the developer's .dev.vars: the issuer's JWKS, fresh
 * data keys, audit and room-name keys, ENVIRONMENT=dev, plus `extra` (TTLs etc.).
 */
export function testVars(issuer, extra = {}) {
  return {
    ENVIRONMENT: 'dev',
    REGION: 'us',
    AUTH_JWKS: issuer.jwks,
    ...makeDataKeys(),
    AUDIT_SIGNING_KEY: randomKey(),
    ROOM_NAME_KEY: randomKey(),
    ...extra,
  };
}

/** Starts one server with its own issuer and keys. Returns { srv, issuer, vars, tok }. */
export async function startTestServer(extra = {}) {
  const issuer = makeIssuer();
  const vars = testVars(issuer, extra);
  const srv = await startServer({ vars });
  return { srv, issuer, vars, tok: tokenFactory(issuer) };
}

/** Role-shaped token minting for `issuer`. */
export function tokenFactory(issuer) {
  return {
    pharmacist: (sub, tenant = 'pharmacy-1', extra = {}) => issuer.token({ sub, role: 'pharmacist', tenant, ...extra }),
    dispatcher: (sub, tenant = 'pharmacy-1', extra = {}) => issuer.token({ sub, role: 'dispatcher', tenant, ...extra }),
    auditor: (sub, tenant = 'pharmacy-1', extra = {}) => issuer.token({ sub, role: 'auditor', tenant, ...extra }),
    driver: (sub, orders, extra = {}) => issuer.token({ sub, role: 'driver', orders: [].concat(orders), ...extra }),
    patient: (sub, orders, extra = {}) => issuer.token({ sub, role: 'patient', orders: [].concat(orders), ...extra }),
  };
}

/** A unique order id for one test. */
export const orderId = (prefix = 'ord') => `${prefix}-${randomBytes(6).toString('hex')}`;

/** Resolves `p` or rejects after `ms` with `what` in the message. */
export function withTimeout(p, ms, what = 'operation') {
  let t;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); }),
  ]);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or `ms` pass; returns the last value. */
export async function waitFor(fn, ms = 10_000, every = 200) {
  const deadline = Date.now() + ms;
  let v;
  while (Date.now() < deadline) {
    v = await fn();
    if (v) return v;
    await sleep(every);
  }
  return v;
}

/**
 * A WebSocket client that queues parsed frames. `protocols` are offered in
 * Sec-WebSocket-Protocol. Resolves once open (or rejects on an HTTP refusal with
 * `err.status`). `next(pred, ms)` waits for the next matching frame (consuming frames before
 * it); `closed` resolves to { code, reason }.
 */
export function openSocket(url, { protocols, headers = {}, timeoutMs = 15_000 } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers, handshakeTimeout: timeoutMs, maxPayload: 8 * 1024 * 1024 });
    const frames = [];
    const waiters = [];
    let closeInfo;
    const closeWaiters = [];
    const wake = () => {
      for (let i = 0; i < waiters.length; i++) {
        const w = waiters[i];
        const idx = frames.findIndex(w.pred);
        if (idx >= 0) {
          const [f] = frames.splice(idx, 1);
          waiters.splice(i, 1); i--;
          clearTimeout(w.timer);
          w.resolve(f);
        } else if (closeInfo) {
          waiters.splice(i, 1); i--;
          clearTimeout(w.timer);
          w.reject(Object.assign(new Error(`socket closed ${closeInfo.code} ${closeInfo.reason} while waiting`), { close: closeInfo }));
        }
      }
    };
    ws.on('message', (data) => {
      let f;
      try { f = JSON.parse(data.toString()); } catch { f = { type: '__unparsed', raw: data.toString() }; }
      frames.push(f);
      wake();
    });
    const onClose = (code, reason, frame) => {
      if (closeInfo) return;
      closeInfo = { code, reason: reason.toString(), frame, at: Date.now() };
      for (const c of closeWaiters) c(closeInfo);
      wake();
    };
    // The close frame counts as the close: the local proxy may keep TCP open after it, and ws
    // would then wait 30 s before reporting 'close'.
    ws.once('open', () => {
      ws._receiver?.on('conclude', (code, reason) => {
        onClose(code, reason, true);
        setTimeout(() => { try { ws.terminate(); } catch { /* gone */ } }, 200).unref();
      });
    });
    ws.on('close', (code, reason) => onClose(code, reason, false));
    ws.on('error', () => { /* reported through close or unexpected-response */ });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        let json; try { json = JSON.parse(body); } catch { /* not json */ }
        reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, json, body }));
      });
    });
    ws.on('open', () => resolve({
      ws,
      protocol: ws.protocol,
      frames,
      send: (obj) => ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)),
      next(pred = () => true, ms = 10_000) {
        const p = typeof pred === 'string' ? (f) => f.type === pred : pred;
        return new Promise((res, rej) => {
          const w = { pred: p, resolve: res, reject: rej };
          w.timer = setTimeout(() => {
            const i = waiters.indexOf(w);
            if (i >= 0) waiters.splice(i, 1);
            rej(new Error(`no matching frame within ${ms} ms; queued: ${JSON.stringify(frames).slice(0, 500)}`));
          }, ms);
          waiters.push(w);
          wake();
        });
      },
      /** Frames received so far that match `pred`, removed from the queue. */
      drain(pred = () => true) {
        const out = [];
        for (let i = 0; i < frames.length; i++) if (pred(frames[i])) { out.push(frames.splice(i, 1)[0]); i--; }
        return out;
      },
      closed: (ms = 15_000) => withTimeout(new Promise((res) => {
        if (closeInfo) res(closeInfo); else closeWaiters.push(res);
      }), ms, 'socket close'),
      close: () => { try { ws.close(1000); } catch { /* closed */ } },
      terminate: () => { try { ws.terminate(); } catch { /* closed */ } },
    }));
  });
}

/** Every regular file under `dir`, recursively. */
export function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    let entries;
    try { entries = readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
      else { try { if (statSync(p).isFile()) out.push(p); } catch { /* gone */ } }
    }
  };
  walk(dir);
  return out;
}

/** Parses a JSON Lines export into { header, events, messages, trailer, lines }. */
export function parseExport(text) {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const parsed = lines.map((l) => JSON.parse(l));
  return {
    lines,
    header: parsed.find((l) => l.type === 'header'),
    events: parsed.filter((l) => l.type === 'event'),
    messages: parsed.filter((l) => l.type === 'message'),
    trailer: parsed.find((l) => l.type === 'trailer'),
  };
}
