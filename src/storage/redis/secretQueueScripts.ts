/*
 * Lua scripts behind RedisSecretQueue: the relays' side of the messages that putSecretScript
 * queued beside their secrets. Each runs on one shard, and touches only the keys it is given: the
 * shard's stream, retry set and live set, which share the shard's hash tag and so one Redis
 * Cluster slot. No script reads a secret: whether a message may still go out is the live set's
 * answer (see pendingSecretScripts.ts for how the scripts that end a secret keep it).
 *
 * Leases are the consumer group's own bookkeeping: an entry read by a relay stays pending for
 * that relay (its consumer) until recorded, and one idle for longer than the lease is taken over
 * by the next claim (XAUTOCLAIM). Due times come from TIME: the server's clock, not an instance's.
 *
 * A stream entry holds: id, kind, template, reference, payload (sealed), max (attempts), attempt,
 * expires (the secret's expiry, Redis ms).
 */

/**
 * KEYS: stream, retry set, live set. ARGV: group, consumer, count, leaseMs.
 * Returns a list of claims {entryId, deliveries, id, kind, template, reference, payload, attempt,
 * max, ttlMs}, ttlMs being what is left of the secret's life. Entries past their expiry, or whose
 * message is no longer live (its secret was taken, revoked or replaced), are acknowledged and
 * deleted on the way, never returned, and the claim reads on past them until it has `count` live
 * entries or has looked at 10 x count entries.
 */
export const claimScript = `
local stream, retries, live = KEYS[1], KEYS[2], KEYS[3]
local group, consumer = ARGV[1], ARGV[2]
local count, lease = tonumber(ARGV[3]), tonumber(ARGV[4])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- A message may go out while it is in the live set and its expiry is ahead. An entry queued before
-- entries carried their expiry has none, and is dropped.
local function isLive(id, expires)
  return id and expires and tonumber(expires) > now and redis.call('ZSCORE', live, id) ~= false
end

local function fieldsOf(list)
  local message = {}
  for i = 1, #(list or {}), 2 do message[list[i]] = list[i + 1] end
  return message
end

-- Due retries go back into the stream, where they are read like new messages; one whose secret
-- ended while it waited is dropped here.
local due = redis.call('ZRANGEBYSCORE', retries, '-inf', now, 'LIMIT', 0, count)
for _, member in ipairs(due) do
  local fields = cjson.decode(member)
  local message = fieldsOf(fields)
  if isLive(message.id, message.expires) then
    if redis.call('EXISTS', stream) == 0 then
      redis.call('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
    end
    redis.call('XADD', stream, '*', unpack(fields))
  end
  redis.call('ZREM', retries, member)
end
if redis.call('EXISTS', stream) == 0 then
  return {}
end
-- A stream that lost its group (NOGROUP) gets it back; the usual BUSYGROUP answer is ignored.
redis.pcall('XGROUP', 'CREATE', stream, group, '0')

local claims = {}
-- Every entry looked at counts against this cap, live or not: entries whose secret is gone must
-- not use up a claim's budget (a short batch makes the relay wait a whole poll while live entries
-- sit behind them), yet one claim must stay short however many of them pile up.
local scanLeft = count * 10

-- Hands out a live entry; acknowledges and deletes any other.
local function consider(entry, deliveries)
  scanLeft = scanLeft - 1
  local entryId = entry[1]
  -- Redis 6.2's XAUTOCLAIM hands back an entry deleted meanwhile without its fields.
  local message = fieldsOf(entry[2])
  if isLive(message.id, message.expires) then
    table.insert(claims, {entryId, deliveries, message.id, message.kind, message.template, message.reference,
      message.payload, tonumber(message.attempt) + deliveries - 1, tonumber(message.max), tonumber(message.expires) - now})
  else
    redis.call('XACK', stream, group, entryId)
    redis.call('XDEL', stream, entryId)
  end
end

-- Entries whose relay died: pending longer than the lease. The pending list is scanned in a few
-- steps at most, so one claim stays short however long the list.
local cursor = '0-0'
for _ = 1, 10 do
  if #claims >= count or scanLeft <= 0 then break end
  local reply = redis.call('XAUTOCLAIM', stream, group, consumer, lease, cursor, 'COUNT', math.min(count - #claims, scanLeft))
  cursor = reply[1]
  for _, entry in ipairs(reply[2]) do
    local pending = redis.call('XPENDING', stream, group, entry[1], entry[1], 1)[1]
    consider(entry, pending and tonumber(pending[4]) or 1)
  end
  if cursor == '0-0' then break end
end
-- New entries, read on past dead ones until the batch is full, the stream is read to its end,
-- or the cap is reached.
while #claims < count and scanLeft > 0 do
  local fresh = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', math.min(count - #claims, scanLeft), 'STREAMS', stream, '>')
  if not fresh or #fresh[1][2] == 0 then break end
  for _, entry in ipairs(fresh[1][2]) do consider(entry, 1) end
end

return claims
`;

/**
 * KEYS: stream, retry set. ARGV: group, consumer, then per outcome: entryId, deliveries, status
 * ("sent", "dead", "expired" or "retry"), delayMs, next attempt number. Each outcome is recorded
 * only if this consumer still holds the entry from the same delivery (a relay whose lease ran out
 * and was taken over changes nothing). Returns two lists: the entry ids recorded, and those
 * another consumer or delivery holds now. An entry in neither is gone (its secret was taken).
 */
export const recordScript = `
local stream, retries = KEYS[1], KEYS[2]
local group, consumer = ARGV[1], ARGV[2]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local recorded, takenOver = {}, {}
if redis.call('EXISTS', stream) == 0 then
  return {recorded, takenOver}
end
for i = 3, #ARGV, 5 do
  local entryId, deliveries, status = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local pending = redis.pcall('XPENDING', stream, group, entryId, entryId, 1)
  local holder = type(pending) == 'table' and pending[1]
  if holder and holder[2] == consumer and tonumber(holder[4]) == deliveries then
    if status == 'retry' then
      local entry = redis.call('XRANGE', stream, entryId, entryId)[1]
      if entry then
        local fields = entry[2]
        for j = 1, #fields, 2 do
          if fields[j] == 'attempt' then fields[j + 1] = ARGV[i + 4] end
        end
        redis.call('ZADD', retries, now + tonumber(ARGV[i + 3]), cjson.encode(fields))
      end
    end
    redis.call('XACK', stream, group, entryId)
    redis.call('XDEL', stream, entryId)
    table.insert(recorded, entryId)
  elseif holder then
    table.insert(takenOver, entryId)
  end
end
return {recorded, takenOver}
`;

/**
 * KEYS: stream. ARGV: group, idleMs. Forgets consumers (relays) that hold nothing and have not
 * been seen for idleMs: every relay that ever ran would otherwise stay in the group for good.
 * One that is still alive simply comes back with its next read. Returns how many were forgotten.
 */
export const tidyScript = `
local stream, group, idle = KEYS[1], ARGV[1], tonumber(ARGV[2])
if redis.call('EXISTS', stream) == 0 then
  return 0
end
local consumers = redis.pcall('XINFO', 'CONSUMERS', stream, group)
if type(consumers) ~= 'table' or consumers.err then
  return 0
end
local forgotten = 0
for _, consumer in ipairs(consumers) do
  local info = {}
  for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
  if tonumber(info.pending) == 0 and tonumber(info.idle) > idle then
    redis.call('XGROUP', 'DELCONSUMER', stream, group, info.name)
    forgotten = forgotten + 1
  end
end
return forgotten
`;
