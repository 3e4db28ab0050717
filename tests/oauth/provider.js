// provider.js — a real OAuth 2.0 authorization server for the refresher's
// tests: oidc-provider (OpenID certified) on 127.0.0.1, with refresh-token
// rotation and short-lived access tokens, behind a small proxy that can
// misbehave on demand. Not a mock of OAuth: every refresh the tests see
// succeed or fail was decided by oidc-provider.
//
//   node provider.js MODULE_DIR [ACCESS_TTL_SEC]
//
// MODULE_DIR holds node_modules/oidc-provider (installed by setup.sh).
// Prints one JSON line on stdout once listening:
//   {"token_url": "http://127.0.0.1:P/token" (the proxy), "control": "http://127.0.0.1:C",
//    "issuer": ...}
// Control (JSON over HTTP on the control port, for the C test):
//   POST /mint {"user", "count"?, "client"?} → token sets minted through the
//        provider's own models (a Grant, an AccessToken, a RefreshToken, as the
//        authorization code exchange would have made them): an array of
//        {"user", "token": {access_token, token_type, expires_in, refresh_token}}
//        (count > 1: users USER-0 .. USER-(count-1))
//   POST /mode {"mode": "pass" | "status" | "hang" | "down", "status"?, "retry_after"?,
//        "delay_ms"?, "expires_in_string"?} → how the proxy answers from now on
//   GET  /stats → {"requests", "in_flight", "max_in_flight", "times": [ms...],
//        "content_types": {...}, "auth": {"basic": n, "post": n}, "passed"}
//   POST /reset → stats zeroed
//   POST /refresh {"refresh_token", "client"?} → a refresh sent straight to the
//        provider: {"status", "body"} (to see that a rotated token is dead)
//   POST /lookup {"access_token"?, "refresh_token"?} → {"access_token": bool,
//        "refresh_token": bool}: whether the provider still holds each (after a
//        revocation, RFC 7009, it holds neither: the grant is gone)
// The proxy also fronts the provider's revocation endpoint (RFC 7009): the
// printed "revocation_url"; /stats counts "revocations" (answered 200 by the
// provider) and "hints" ({token_type_hint: n}).
//   POST /quit
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const moduleDir = process.argv[2];
const accessTtl = Number(process.argv[3] || 600);
const { default: Provider } = await import(
  pathToFileURL(path.join(moduleDir, 'node_modules', 'oidc-provider', 'lib', 'index.js')).href);

export const CLIENTS = {
  basic: { client_id: 'cv-basic', client_secret: 'basic secret:&=+%', token_endpoint_auth_method: 'client_secret_basic' },
  post: { client_id: 'cv-post', client_secret: 'post secret:&=+%', token_endpoint_auth_method: 'client_secret_post' },
};
const SCOPE = 'offline_access api';

function listen(server, port = 0) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

// The provider's storage: oidc-provider's own development adapter keeps at
// most 1,000 entries (an LRU), and the load test holds 3,000 (a Grant, an
// AccessToken and a RefreshToken a user). This one keeps everything for
// the test's lifetime, through the documented Adapter interface.
const storage = new Map();
const grants = new Map(); // grantId -> Set of keys
class MapAdapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  async upsert(id, payload) {
    const key = this.key(id);
    storage.set(key, payload);
    if (payload.grantId) {
      if (!grants.has(payload.grantId)) grants.set(payload.grantId, new Set());
      grants.get(payload.grantId).add(key);
    }
    if (this.model === 'Session' && payload.uid) storage.set(`sessionUid:${payload.uid}`, id);
    if (payload.userCode) storage.set(`userCode:${payload.userCode}`, id);
  }
  async find(id) { return storage.get(this.key(id)); }
  async findByUid(uid) { return this.find(storage.get(`sessionUid:${uid}`)); }
  async findByUserCode(code) { return this.find(storage.get(`userCode:${code}`)); }
  async consume(id) { const p = storage.get(this.key(id)); if (p) p.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { storage.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    for (const key of grants.get(grantId) ?? []) storage.delete(key);
    grants.delete(grantId);
  }
}

const providerServer = http.createServer();
const providerPort = await listen(providerServer);
const issuer = `http://127.0.0.1:${providerPort}`;
const provider = new Provider(issuer, {
  clients: Object.values(CLIENTS).map((c) => ({
    ...c,
    grant_types: ['authorization_code', 'refresh_token'],
    redirect_uris: ['http://127.0.0.1/cb'],
    response_types: ['code'],
  })),
  adapter: MapAdapter,
  findAccount: async (ctx, id) => ({ accountId: id, async claims() { return { sub: id }; } }),
  rotateRefreshToken: true,
  scopes: ['openid', 'offline_access', 'api'],
  ttl: { AccessToken: accessTtl, RefreshToken: 86400, Grant: 86400, Session: 86400 },
  features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
});
provider.on('server_error', (ctx, err) => console.error('provider server_error', err));
providerServer.on('request', provider.callback());
const tokenPath = '/token';
const revocationPath = '/token/revocation'; // oidc-provider's default route

async function mint(user, clientKey) {
  const client = await provider.Client.find(CLIENTS[clientKey].client_id);
  const grant = new provider.Grant({ accountId: user, clientId: client.clientId });
  grant.addOIDCScope(SCOPE);
  const grantId = await grant.save();
  const common = { accountId: user, client, grantId, scope: SCOPE, gty: 'authorization_code' };
  const at = await new provider.AccessToken(common).save();
  const rt = await new provider.RefreshToken({ ...common, expiresWithSession: false, iiat: Math.floor(Date.now() / 1000) }).save();
  return { access_token: at, token_type: 'Bearer', expires_in: accessTtl, refresh_token: rt, scope: SCOPE };
}

// ---- the proxy in front of the token endpoint ----
let mode = { mode: 'pass' };
let stats;
function resetStats() {
  stats = { requests: 0, in_flight: 0, max_in_flight: 0, times: [], content_types: {}, auth: { basic: 0, post: 0 }, passed: 0, bad_client: 0, revocations: 0, hints: {} };
}
resetStats();
const hanging = new Set();

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', () => resolve(''));
  });
}

function forward(body, headers, target = tokenPath) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: providerPort, path: target, method: 'POST', headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', (e) => resolve({ status: 502, headers: {}, body: JSON.stringify({ error: 'server_error', error_description: String(e) }) }));
    req.end(body);
  });
}

const proxy = http.createServer(async (req, res) => {
  stats.requests++;
  stats.in_flight++;
  stats.max_in_flight = Math.max(stats.max_in_flight, stats.in_flight);
  stats.times.push(Date.now());
  let done = false;
  const finish = () => { if (!done) { done = true; stats.in_flight--; } };
  res.on('close', finish);
  try {
    let body = await readBody(req);
    const ctype = String(req.headers['content-type'] || '').split(';')[0];
    stats.content_types[ctype] = (stats.content_types[ctype] || 0) + 1;
    // oidc-provider takes only form bodies: a JSON one (a plugin whose manifest
    // says application/json) is checked and passed on as the same form.
    let fields;
    if (ctype === 'application/json') {
      fields = JSON.parse(body);
      body = new URLSearchParams(fields).toString();
    } else {
      fields = Object.fromEntries(new URLSearchParams(body));
    }
    if (req.headers.authorization) stats.auth.basic++;
    if (fields.client_secret !== undefined) stats.auth.post++;
    if (mode.delay_ms) await new Promise((r) => setTimeout(r, mode.delay_ms));
    if (mode.mode === 'hang') { hanging.add(res); return; }
    if (mode.mode === 'status') {
      const h = { 'content-type': 'application/json' };
      if (mode.retry_after !== undefined) h['retry-after'] = String(mode.retry_after);
      res.writeHead(mode.status || 500, h);
      res.end(JSON.stringify({ error: mode.status === 429 ? 'slow_down' : 'server_error' }));
      return;
    }
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) };
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    const revoking = req.url === '/revoke';
    if (revoking) stats.hints[fields.token_type_hint] = (stats.hints[fields.token_type_hint] || 0) + 1;
    const out = await forward(body, headers, revoking ? revocationPath : tokenPath);
    if (out.status === 200) stats.passed++;
    if (revoking && out.status === 200) stats.revocations++;
    // Some providers send expires_in as a string: the refresher must cope.
    if (out.status === 200 && mode.expires_in_string && !revoking) {
      const j = JSON.parse(out.body);
      j.expires_in = String(j.expires_in);
      out.body = JSON.stringify(j);
    }
    if (out.status === 401) stats.bad_client++;
    res.writeHead(out.status, { 'content-type': out.headers['content-type'] || 'application/json' });
    res.end(out.body);
  } catch (e) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'invalid_request', error_description: String(e) }));
  }
});
const sockets = new Set();
proxy.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
const proxyPort = await listen(proxy);
let proxyUp = true;

async function setMode(m) {
  for (const res of hanging) res.destroy();
  hanging.clear();
  if (m.mode === 'down' && proxyUp) {
    proxyUp = false;
    await new Promise((r) => { proxy.close(() => r()); for (const s of sockets) s.destroy(); });
  } else if (m.mode !== 'down' && !proxyUp) {
    await listen(proxy, proxyPort);
    proxyUp = true;
  }
  mode = m;
}

// ---- control ----
const control = http.createServer(async (req, res) => {
  const send = (status, obj) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(obj)); };
  try {
    const text = await readBody(req);
    const arg = text ? JSON.parse(text) : {};
    if (req.url === '/mint') {
      const count = arg.count || 1;
      const client = arg.client || 'basic';
      const out = [];
      for (let i = 0; i < count; i++) {
        const user = count > 1 ? `${arg.user}-${i}` : arg.user;
        out.push({ user, token: await mint(user, client) });
      }
      return send(200, out);
    }
    if (req.url === '/mode') { await setMode(arg); return send(200, { ok: true }); }
    if (req.url === '/stats') return send(200, stats);
    if (req.url === '/reset') { resetStats(); return send(200, { ok: true }); }
    if (req.url === '/refresh') {
      const c = CLIENTS[arg.client || 'basic'];
      const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: arg.refresh_token }).toString();
      const basic = Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString('base64');
      const out = await forward(body, { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), authorization: `Basic ${basic}` });
      return send(200, { status: out.status, body: out.body });
    }
    if (req.url === '/lookup') {
      const at = arg.access_token ? await provider.AccessToken.find(arg.access_token) : undefined;
      const rt = arg.refresh_token ? await provider.RefreshToken.find(arg.refresh_token) : undefined;
      return send(200, { access_token: !!at, refresh_token: !!rt });
    }
    if (req.url === '/quit') { send(200, { ok: true }); setTimeout(() => process.exit(0), 10); return; }
    send(404, { error: 'no such control' });
  } catch (e) {
    send(500, { error: String(e) });
  }
});
const controlPort = await listen(control);
process.stdout.write(JSON.stringify({
  token_url: `http://127.0.0.1:${proxyPort}${tokenPath}`,
  revocation_url: `http://127.0.0.1:${proxyPort}/revoke`,
  direct_token_url: `${issuer}${tokenPath}`,
  control: `http://127.0.0.1:${controlPort}`,
  issuer,
  clients: CLIENTS,
}) + '\n');
// The test's end (its stdin closing) ends the server too.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
