/*
 * Lua scripts behind RedisPendingSecrets. A script runs atomically on the server, which is what
 * makes count-then-compare-then-consume a single step, and stores a secret with its message so
 * that neither exists without the other; each operation is one round trip.
 *
 * Every key a script touches is one it is given (KEYS), never one named inside a value, and all of
 * them carry the secret's shard's hash tag (secretKeyspace.ts): so each call is one Redis Cluster
 * slot, and Redis (and a proxy or a future sharding) can see from the call which keys it uses.
 *
 * Time comes from the server (TIME, PEXPIRE, PTTL), never from the instances, whose clocks may
 * disagree.
 *
 * A secret is a Redis hash with the fields hash, attempts, max, data, and, when a message was
 * queued with it, msg (the message's id) and entry (its stream entry). Liveness of a message, as
 * the queue sees it, never reads a secret (see secretQueueScripts.ts): instead
 * - the shard's live set (a sorted set) holds the id of every message whose secret still names it,
 *   scored by the secret's expiry (Redis ms): a message outlives neither its secret's end nor its
 *   expiry;
 * - the stream entry carries that expiry too;
 * - every script that ends a secret early (take on a match, revoke, a put replacing it) removes
 *   its message from the live set and acknowledges and deletes its stream entry, in the same step.
 * The live set is trimmed of expired members by every put, so it stays as small as the shard's
 * live secrets. The stream is trimmed by every put (XADD MINID ~) of entries older than the
 * longest time to live a secret may have (longestSecretTtlMs): their secrets have expired, so they
 * can only be dropped, and with no relay running the stream still stays bounded.
 */

/**
 * Lua shared by the scripts that end a secret: its message leaves the live set, and its stream
 * entry (if still there: a retried message has moved on, and the live set covers that case) is
 * acknowledged and deleted. XACK and XDEL answer 0, not an error, for what is not there.
 */
const endMessageLua = `
local function endMessage(stream, live, group, messageId, entryId)
  if messageId then redis.call('ZREM', live, messageId) end
  if entryId then
    redis.call('XACK', stream, group, entryId)
    redis.call('XDEL', stream, entryId)
  end
end
`;

/** Lua: the server's time in ms. */
const nowLua = `
local function serverNow()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
`;

/**
 * KEYS: the secret, its shard's stream, its shard's live set. ARGV: hash, maxAttempts, data,
 * ttlMs, ifAbsent ("1" or "0"), consumer group, retentionMs (entries older than this are trimmed),
 * then the message: id ("" for none), kind, template, reference, sealed payload, maxAttempts.
 * Returns 1 if written, else 0.
 */
export const putSecretScript = `${endMessageLua}${nowLua}
local key, stream, live = KEYS[1], KEYS[2], KEYS[3]
local group = ARGV[6]
if ARGV[5] == '1' and redis.call('EXISTS', key) == 1 then
  return 0
end
local now = serverNow()
local ttl = tonumber(ARGV[4])
-- Replacing starts over: the old attempts must not carry to the new secret, and the old message
-- ends with the old secret, never to be sent.
local old = redis.call('HMGET', key, 'msg', 'entry')
endMessage(stream, live, group, old[1], old[2])
redis.call('DEL', key)
-- Members of secrets that expired since: nothing else removes them.
redis.call('ZREMRANGEBYSCORE', live, '-inf', now)
local messageId = ARGV[8]
redis.call('HSET', key, 'hash', ARGV[1], 'attempts', 0, 'max', ARGV[2], 'data', ARGV[3])
redis.call('PEXPIRE', key, ttl)
if messageId ~= '' then
  local expires = now + ttl
  -- A stream exists only with its group (both are created here or by a claim), so a missing
  -- stream, after a restart or a flush, is the one case that needs the group.
  if redis.call('EXISTS', stream) == 0 then
    redis.call('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
  end
  local entryId = redis.call('XADD', stream, 'MINID', '~', now - tonumber(ARGV[7]), '*',
    'id', messageId, 'kind', ARGV[9], 'template', ARGV[10], 'reference', ARGV[11], 'payload', ARGV[12],
    'max', ARGV[13], 'attempt', 1, 'expires', expires)
  redis.call('HSET', key, 'msg', messageId, 'entry', entryId)
  redis.call('ZADD', live, expires, messageId)
end
return 1
`;

/**
 * KEYS: the secret, its shard's stream, its shard's live set. ARGV: the guessed hash, consumer
 * group. Returns {"missing"} or {status, attempts, maxAttempts, data} with status "locked",
 * "consumed" (then also the milliseconds it had left) or "mismatch".
 */
export const takeSecretScript = `${endMessageLua}
local key, stream, live = KEYS[1], KEYS[2], KEYS[3]
-- HINCRBY would create a missing key, so look first.
if redis.call('EXISTS', key) == 0 then
  return {'missing'}
end
-- Count before comparing, so no guess is ever free. Changing a field keeps the key's expiry.
local attempts = redis.call('HINCRBY', key, 'attempts', 1)
local fields = redis.call('HMGET', key, 'hash', 'max', 'data', 'msg', 'entry')
local max = tonumber(fields[2])
if attempts > max then
  return {'locked', attempts, max, fields[3]}
end
-- Constant time: visit every byte of the stored hash and accumulate differences, instead of
-- '==' which stops at the first difference. The loop length depends only on the stored hash.
local stored, guess = fields[1], ARGV[1]
local diff = 0
if #stored ~= #guess then diff = 1 end
for i = 1, #stored do
  diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(guess, i) or 0))
end
if diff == 0 then
  local ttl = redis.call('PTTL', key)
  redis.call('DEL', key)
  endMessage(stream, live, ARGV[2], fields[4], fields[5])
  return {'consumed', attempts, max, fields[3], ttl}
end
return {'mismatch', attempts, max, fields[3]}
`;

/** KEYS: the secret. Returns nil or {attempts, maxAttempts, data, ttlMs}; never the hash. */
export const peekSecretScript = `
local key = KEYS[1]
local fields = redis.call('HMGET', key, 'attempts', 'max', 'data')
if not fields[1] then
  return false
end
return {tonumber(fields[1]), tonumber(fields[2]), fields[3], redis.call('PTTL', key)}
`;

/**
 * KEYS: the secret, its shard's stream, its shard's live set. ARGV: consumer group, then the data
 * the secret must hold, or nothing to remove it whatever it holds. Returns 1 if removed, else 0.
 */
export const revokeSecretScript = `${endMessageLua}
local key, stream, live = KEYS[1], KEYS[2], KEYS[3]
local fields = redis.call('HMGET', key, 'data', 'msg', 'entry')
if not fields[1] or (ARGV[2] ~= nil and fields[1] ~= ARGV[2]) then
  return 0
end
redis.call('DEL', key)
endMessage(stream, live, ARGV[1], fields[2], fields[3])
return 1
`;
