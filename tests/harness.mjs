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
export async function startServer({ vars = {}, persistTo } = {}) {
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
        if (r.ok) return;
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
