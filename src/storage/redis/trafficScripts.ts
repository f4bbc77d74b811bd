/*
 * The traffic part of the send limits' scripts (see domain/secrets/sendLimits.ts, TrafficRequest):
 * Lua functions, not whole scripts. sendLimitScripts.ts composes them with the destination's part
 * into one script for a single Redis, or runs them alone, one script per Cluster slot (the area's,
 * then the channel's). They rely on the prelude there (takeKey, takeArg, takeNumber, counted,
 * windowLeft, startWindow).
 *
 * The checks arrive as data, not code: a list of counters and a list of conversion guards, in
 * the order they are checked (storage/trafficPlan.ts builds them the same way for memory), so one
 * function serves the channel's counter, the area's, or both at once.
 */

/**
 * readTraffic() takes, in order: the number of counters, then per counter its key and ARGV rule,
 * amount, cap, windowMs; the number of conversion guards, then per guard its key and ARGV rule,
 * minSends, minRatio, windowMs (see sendLimitCalls.ts, trafficCall).
 *
 * checkTraffic(t) returns {'traffic', rule, retryAfterMs} for the first rule that refuses, or nil.
 * It only reads (but for windowLeft's repair of a key without expiry), and reads every key with
 * the type chargeTraffic writes it with, so a foreign value fails the script before any charge.
 */
export const trafficFunctions = `
local function readTraffic()
  local t = {counters = {}, conversions = {}}
  for i = 1, takeNumber() do
    local c = {}
    c.key = takeKey()
    c.rule = takeArg()
    c.amount = takeNumber()
    c.cap = takeNumber()
    c.window = takeNumber()
    t.counters[i] = c
  end
  for i = 1, takeNumber() do
    local c = {}
    c.key = takeKey()
    c.rule = takeArg()
    c.minSends = takeNumber()
    c.minRatio = takeNumber()
    c.window = takeNumber()
    t.conversions[i] = c
  end
  return t
end

local function checkTraffic(t)
  -- Conversion first: when a prefix is both full and never validated, the pumping signature is the rule to name.
  for _, c in ipairs(t.conversions) do
    local fields = redis.call('HMGET', c.key, 'sends', 'validated')
    local sends = counted(fields[1])
    if sends >= c.minSends and counted(fields[2]) < c.minRatio * sends then
      return {'traffic', c.rule, math.max(windowLeft(c.key, c.window), 1)}
    end
  end
  for _, c in ipairs(t.counters) do
    -- A cost beyond the whole budget refuses too; with nothing charged yet, for a whole window.
    if counted(redis.call('GET', c.key)) + c.amount > c.cap then
      return {'traffic', c.rule, math.max(windowLeft(c.key, c.window), 1)}
    end
  end
  return nil
end

-- Each window is fixed, starting at its first charge.
local function chargeTraffic(t)
  for _, c in ipairs(t.counters) do
    redis.call('INCRBY', c.key, c.amount)
    startWindow(c.key, c.window)
  end
  for _, c in ipairs(t.conversions) do
    redis.call('HINCRBY', c.key, 'sends', 1)
    startWindow(c.key, c.window)
  end
end

-- Gives back what chargeTraffic added, never below 0 (the window may have ended and a new one
-- begun); DECRBY and HINCRBY keep a key's expiry, so a refund never stretches a window.
local function refundTraffic(t)
  for _, c in ipairs(t.counters) do
    local back = math.min(counted(redis.call('GET', c.key)), c.amount)
    if back > 0 then redis.call('DECRBY', c.key, back) end
  end
  for _, c in ipairs(t.conversions) do
    if counted(redis.call('HGET', c.key, 'sends')) > 0 then redis.call('HINCRBY', c.key, 'sends', -1) end
  end
end

-- A validation counts in the window its sends opened, and never beyond their number: a code sent
-- in an earlier window must not lend credit to this one. No window, no count: nothing is created.
local function recordConversion(t)
  for _, c in ipairs(t.conversions) do
    local fields = redis.call('HMGET', c.key, 'sends', 'validated')
    if counted(fields[2]) < counted(fields[1]) then redis.call('HINCRBY', c.key, 'validated', 1) end
  end
end
`;
