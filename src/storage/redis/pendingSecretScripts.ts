/*
 * Lua scripts behind RedisPendingSecrets. A script runs atomically on the server, which is what
 * makes count-then-compare-then-consume a single step, and stores a secret with its message so
 * that neither exists without the other; each operation is one round trip.
 *
 * Every key a script is given carries its shard's hash tag (secretKeyspace.ts), so a script over
 * a secret and its shard's stream stays in one Redis Cluster slot.
 *
 * Time comes from the server (PEXPIRE, PTTL), never from the instances, whose clocks may disagree.
 *
 * A secret is a Redis hash with the fields hash, attempts, max, data, and msg (the id of the
 * message queued with it, if any: the queue sends a message only while its secret still names it).
 */

/**
 * KEYS: the secret, its shard's stream. ARGV: hash, maxAttempts, data, ttlMs, ifAbsent ("1" or
 * "0"), consumer group, then the message: id ("" for none), kind, template, reference, sealed
 * payload, maxAttempts. Returns 1 if written, else 0.
 */
export const putSecretScript = `
local key, stream = KEYS[1], KEYS[2]
if ARGV[5] == '1' and redis.call('EXISTS', key) == 1 then
  return 0
end
-- Replacing starts over: the old attempts must not carry to the new secret, and the old message
-- (whose id the new secret no longer names) is never sent.
redis.call('DEL', key)
local messageId = ARGV[7]
if messageId == '' then
  redis.call('HSET', key, 'hash', ARGV[1], 'attempts', 0, 'max', ARGV[2], 'data', ARGV[3])
else
  redis.call('HSET', key, 'hash', ARGV[1], 'attempts', 0, 'max', ARGV[2], 'data', ARGV[3], 'msg', messageId)
end
redis.call('PEXPIRE', key, ARGV[4])
if messageId ~= '' then
  -- A stream exists only with its group (both are created here or by a claim), so a missing
  -- stream, after a restart or a flush, is the one case that needs the group.
  if redis.call('EXISTS', stream) == 0 then
    redis.call('XGROUP', 'CREATE', stream, ARGV[6], '0', 'MKSTREAM')
  end
  redis.call('XADD', stream, '*', 'id', messageId, 'kind', ARGV[8], 'template', ARGV[9],
    'reference', ARGV[10], 'payload', ARGV[11], 'max', ARGV[12], 'attempt', 1, 'secret', key)
end
return 1
`;

/**
 * KEYS: the secret. ARGV: the guessed hash. Returns {"missing"} or {status, attempts,
 * maxAttempts, data} with status "locked", "consumed" or "mismatch".
 */
export const takeSecretScript = `
local key = KEYS[1]
-- HINCRBY would create a missing key, so look first.
if redis.call('EXISTS', key) == 0 then
  return {'missing'}
end
-- Count before comparing, so no guess is ever free. Changing a field keeps the key's expiry.
local attempts = redis.call('HINCRBY', key, 'attempts', 1)
local fields = redis.call('HMGET', key, 'hash', 'max', 'data')
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
  redis.call('DEL', key)
  return {'consumed', attempts, max, fields[3]}
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
 * KEYS: the secret. ARGV: the data it must hold, or nothing to remove it whatever it holds.
 * Returns 1 if removed, else 0.
 */
export const revokeSecretScript = `
local key = KEYS[1]
if ARGV[1] ~= nil and redis.call('HGET', key, 'data') ~= ARGV[1] then
  return 0
end
return redis.call('DEL', key)
`;
