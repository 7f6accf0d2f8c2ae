//! The Lua scripts that make each engine operation one atomic round trip to Redis.
//!
//! Layout per channel (all keys share the hash tag `{channel}`, see [`super::keys`], so a script
//! touches one Redis Cluster slot):
//! - the history stream, a Redis STREAM whose entry ids are the offsets (`<offset>-0`), each
//!   entry holding the encoded publication (`d`) and its expiry in Redis time (`x`);
//! - the meta HASH: epoch (`e`) and top offset (`s`), alive for the meta ttl;
//! - an idempotency key per publish key, `offset:epoch` for its ttl;
//! - presence: a HASH client → info, a ZSET client → expiry, a HASH client → user and a HASH
//!   user → live client count (for user-level join/leave).
//!
//! As centrifuge does, the publish script assigns the offset, appends and PUBLISHes in one go:
//! Redis runs scripts one at a time, so pub/sub messages of a channel leave in offset order and
//! after their entry is in the stream. Time comes from Redis (`TIME`), never from a node's clock,
//! so nodes with skewed clocks agree on expiry.

use std::sync::LazyLock;

use redis::Script;

/// Milliseconds of Redis time, and the removal of expired stream entries from the head.
const COMMON: &str = r#"
local function now_ms()
  local t = redis.call('time')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"#;

/// Publishes one publication.
///
/// KEYS: stream, meta, idempotency key. ARGV: encoded publication, history size (0: none),
/// history ttl ms, meta ttl ms, a fresh epoch in case the stream has none, the pub/sub channel,
/// idempotency ttl ms (0: no key), the publish command (`PUBLISH`, or `SPUBLISH` on a cluster
/// with sharded pub/sub). Returns `{suppressed, offset, epoch}`.
///
/// The pub/sub message is `p<offset>:<epoch>:<publication>`.
pub(super) static PUBLISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{COMMON}{}",
        r#"
local idem_ttl = tonumber(ARGV[7])
if idem_ttl > 0 then
  local seen = redis.call('get', KEYS[3])
  if seen then
    local sep = string.find(seen, ':', 1, true)
    return {1, tonumber(string.sub(seen, 1, sep - 1)), string.sub(seen, sep + 1)}
  end
end
local offset = 0
local epoch = ''
local size = tonumber(ARGV[2])
if size > 0 then
  epoch = redis.call('hget', KEYS[2], 'e')
  if not epoch then
    epoch = ARGV[5]
    redis.call('del', KEYS[1])
    redis.call('hset', KEYS[2], 'e', epoch, 's', 0)
  end
  offset = redis.call('hincrby', KEYS[2], 's', 1)
  redis.call('pexpire', KEYS[2], ARGV[4])
  local expires = now_ms() + tonumber(ARGV[3])
  redis.call('xadd', KEYS[1], 'MAXLEN', size, offset .. '-0', 'd', ARGV[1], 'x', expires)
  redis.call('pexpire', KEYS[1], ARGV[3])
end
redis.call(ARGV[8], ARGV[6], 'p' .. offset .. ':' .. epoch .. ':' .. ARGV[1])
if idem_ttl > 0 then
  redis.call('set', KEYS[3], offset .. ':' .. epoch, 'PX', idem_ttl)
end
return {0, offset, epoch}
"#
    ))
});

/// Reads history.
///
/// KEYS: stream, meta. ARGV: meta ttl ms, a fresh epoch in case the stream has none, mode
/// (`f`: XRANGE from ARGV[4]; `r`: XREVRANGE from ARGV[4]; `n`: no entries), the start id,
/// the count (-1: all). Returns `{epoch, top, now_ms, entries}` where entries are XRANGE's
/// `{id, {'d', publication, 'x', expires}}`.
///
/// Expired entries are removed from the head of the stream first (a bounded amount per call:
/// the caller filters the rest out by `now_ms`), which is what per-publication ttl needs while
/// the stream key as a whole only expires after its last publication's ttl.
pub(super) static HISTORY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{COMMON}{}",
        r#"
local epoch = redis.call('hget', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[2]
  redis.call('del', KEYS[1])
  redis.call('hset', KEYS[2], 'e', epoch, 's', 0)
end
redis.call('pexpire', KEYS[2], ARGV[1])
local top = tonumber(redis.call('hget', KEYS[2], 's') or '0')
local now = now_ms()
for _ = 1, 10 do
  local head = redis.call('xrange', KEYS[1], '-', '+', 'COUNT', 100)
  if #head == 0 then break end
  local live = nil
  for _, entry in ipairs(head) do
    if tonumber(entry[2][4]) > now then live = entry[1]; break end
  end
  if live then
    redis.call('xtrim', KEYS[1], 'MINID', live)
    break
  end
  local last = tonumber(string.match(head[#head][1], '^(%d+)'))
  redis.call('xtrim', KEYS[1], 'MINID', (last + 1) .. '-0')
end
local entries = {}
local count = tonumber(ARGV[5])
if ARGV[3] == 'f' then
  if count >= 0 then
    entries = redis.call('xrange', KEYS[1], ARGV[4], '+', 'COUNT', count)
  else
    entries = redis.call('xrange', KEYS[1], ARGV[4], '+')
  end
elseif ARGV[3] == 'r' then
  if count >= 0 then
    entries = redis.call('xrevrange', KEYS[1], ARGV[4], '-', 'COUNT', count)
  else
    entries = redis.call('xrevrange', KEYS[1], ARGV[4], '-')
  end
end
return {epoch, top, now, entries}
"#
    ))
});

/// Presence helpers: drop one client (keeping the per-user counts right) and drop the expired.
///
/// KEYS for every presence script: info hash, expiry zset, client → user hash, user → count hash.
const PRESENCE_COMMON: &str = r#"
local function drop(client)
  local user = redis.call('hget', KEYS[3], client)
  redis.call('hdel', KEYS[1], client)
  redis.call('hdel', KEYS[3], client)
  redis.call('zrem', KEYS[2], client)
  if user then
    if redis.call('hincrby', KEYS[4], user, -1) <= 0 then
      redis.call('hdel', KEYS[4], user)
    end
  end
  return user
end
local function expire(now)
  local gone = redis.call('zrangebyscore', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
  for _, client in ipairs(gone) do drop(client) end
end
"#;

/// Adds or refreshes a client. ARGV: client, user, encoded info, ttl ms. Returns 1 for the
/// user's first live client (a user-level join), else 0.
///
/// The keys themselves expire with the longest ttl given, so a channel whose every node died
/// leaves nothing behind.
pub(super) static PRESENCE_ADD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{COMMON}{PRESENCE_COMMON}{}",
        r#"
local now = now_ms()
local ttl = tonumber(ARGV[4])
expire(now)
local join = 0
if not redis.call('zscore', KEYS[2], ARGV[1]) then
  redis.call('hset', KEYS[3], ARGV[1], ARGV[2])
  if redis.call('hincrby', KEYS[4], ARGV[2], 1) == 1 then join = 1 end
end
redis.call('hset', KEYS[1], ARGV[1], ARGV[3])
redis.call('zadd', KEYS[2], now + ttl, ARGV[1])
for i = 1, 4 do
  if redis.call('pttl', KEYS[i]) < ttl then redis.call('pexpire', KEYS[i], ttl) end
end
return join
"#
    ))
});

/// Removes a client. ARGV: client, user. Returns 1 when the client was there (live, or expired
/// but not yet swept) and its user has no live client left: a user-level leave.
pub(super) static PRESENCE_REMOVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{COMMON}{PRESENCE_COMMON}{}",
        r#"
local left = 0
if redis.call('zscore', KEYS[2], ARGV[1]) then
  local user = drop(ARGV[1]) or ARGV[2]
  expire(now_ms())
  if not redis.call('hget', KEYS[4], user) then left = 1 end
end
return left
"#
    ))
});

/// The live clients' encoded infos.
pub(super) static PRESENCE_GET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{COMMON}{PRESENCE_COMMON}{}",
        r#"
expire(now_ms())
return redis.call('hvals', KEYS[1])
"#
    ))
});

/// `{clients, users}` of the live presence.
pub(super) static PRESENCE_STATS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{COMMON}{PRESENCE_COMMON}{}",
        r#"
expire(now_ms())
return {redis.call('hlen', KEYS[1]), redis.call('hlen', KEYS[4])}
"#
    ))
});
