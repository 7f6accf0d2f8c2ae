// What the Node runners (node_client.mjs, browser_client.mjs) share: their `--only` argument, the
// settings run.py hands them through HUB_* environment variables, HS256 token minting with the
// hub's secret, and the server API over plain HTTP. Kept apart from js_checks.mjs, which also
// runs inside a page.
import { createHmac, randomBytes } from 'node:crypto';
import { needEnv } from '../lib/checks.mjs';

/** The check `--only NAME` in `args` names (null: every check); exits 2, naming the checks
 * there are, when `names` has no such check. */
export function onlyCheck(args, names) {
  const at = args.indexOf('--only');
  const only = at >= 0 ? args[at + 1] : null;
  if (only && !names.includes(only)) {
    console.log(`FAIL setup: unknown check ${only}; checks: ${names.join(', ')}`);
    process.exit(2);
  }
  return only;
}

/** The settings from run.py. Secrets come through the environment, not the command line. */
export function settings() {
  const need = (name) => needEnv(name, 'tests/hub/run.py');
  return {
    wsUrl: need('HUB_WS_URL'),
    apiUrl: need('HUB_API_URL'),
    apiKey: need('HUB_API_KEY'),
    secret: need('HUB_SECRET'),
    tag: process.env.HUB_TAG || `t${randomBytes(3).toString('hex')}`,
    recoveryCount: Number(process.env.HUB_RECOVERY_COUNT || 1000),
  };
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** An HS256 JWT over `claims`, signed with `secret` (what Centrifugo's HMAC tokens are). */
export function mintToken(secret, claims) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** POST <apiUrl>/<method> with X-API-Key; resolves with `result` (or {}), throws on an HTTP
 *  error or a reply `error` (the Error carries `.code`). One keep-alive connection (fetch). */
export function makeApi(apiUrl, apiKey) {
  return async (method, body) => {
    let res;
    try {
      res = await fetch(`${apiUrl}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
        body: JSON.stringify(body),
      });
    } catch (e) {
      throw new Error(`server API ${method}: ${e.cause ? e.cause.message || e.cause.code : e.message}`);
    }
    const text = await res.text();
    if (res.status !== 200) throw new Error(`server API ${method}: HTTP ${res.status} ${text.slice(0, 200)}`);
    let reply;
    try {
      reply = JSON.parse(text);
    } catch {
      throw new Error(`server API ${method}: not JSON: ${text.slice(0, 200)}`);
    }
    if (reply.error) {
      const e = new Error(`server API ${method}: error ${reply.error.code}: ${reply.error.message}`);
      e.code = reply.error.code;
      throw e;
    }
    return reply.result || {};
  };
}
