// What the two Node hub peers (hub_socketio.mjs, hub_uws.mjs) share: their command line, and
// how they read a publish request's body into publications. Written once, so both peers accept
// and refuse exactly the same requests, and differ only in how they fan out.

/** The port from `node SCRIPT PORT`; exits with a usage line otherwise. */
export function portFromArgs(script) {
  const port = Number(process.argv[2]);
  if (process.argv.length !== 3 || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`usage: node ${script} PORT`);
    process.exit(2);
  }
  return port;
}

// Far above anything the benchmark publishes; only there so a runaway client cannot exhaust memory.
export const MAX_PUBLISH_BODY_BYTES = 64 * 1024 * 1024;

/** A request the peer answers with 400. */
export class BadRequest extends Error {}

/** `{"channel": NAME, "data": <JSON>}` checked, as `{channel, data}`. */
export function publicationFrom(value) {
  const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isObject || typeof value.channel !== 'string' || value.channel === '' || !('data' in value)) {
    throw new BadRequest('expected {"channel": "NAME", "data": <JSON>}');
  }
  return { channel: value.channel, data: value.data };
}

/** The body's JSON, or a BadRequest. */
export function parseJson(bodyText) {
  try {
    return JSON.parse(bodyText);
  } catch {
    throw new BadRequest('body is not JSON');
  }
}
