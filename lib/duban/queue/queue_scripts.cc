#include "duban/queue/queue_scripts.h"

#include <absl/strings/str_cat.h>

namespace duban::queue {
namespace {

// Shared helpers, prepended to every script. Versions, times and counters travel as decimal
// strings; Lua numbers are doubles, exact for the integers used here (< 2^53).
constexpr const char* kPrelude = R"lua(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Fields of our consumer group from XINFO GROUPS (RESP2: one flat array per group).
local function group_info(ready, group)
  local groups = redis.pcall('XINFO', 'GROUPS', ready)
  if type(groups) ~= 'table' or groups.err then return nil end
  for _, g in ipairs(groups) do
    local m = {}
    for i = 1, #g, 2 do m[g[i]] = g[i + 1] end
    if m['name'] == group then return m end
  end
  return nil
end
-- The id after `id` ("ms-seq" -> "ms-(seq+1)").
local function next_id(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return ms .. '-' .. string.format('%d', tonumber(seq) + 1)
end
-- Drops the settled head of the ready stream: every entry before the oldest pending one (or,
-- with none pending, up to the group's last delivered one) is acknowledged. XTRIM MINID frees
-- whole stream nodes at once, far cheaper than an XDEL per entry.
local function trim_settled(ready, group)
  local p = redis.pcall('XPENDING', ready, group)
  if type(p) ~= 'table' or p.err then return end
  local minid
  if p[1] > 0 then
    minid = p[2]
  else
    local g = group_info(ready, group)
    if g == nil then return end
    minid = next_id(g['last-delivered-id'])
  end
  redis.call('XTRIM', ready, 'MINID', minid)
end
-- Ends the life of send marker `ik` (a version replaced or canceled): 'c' unless it says
-- sent. `in_due` = the job waited in the due set, so no entry of that version can be waiting
-- for a first claim: only an existing marker (a claim, a retry's) is overwritten. Otherwise an
-- entry of that version may still be in the stream, and its claim must find the 'c'.
local function tomb(ik, in_due, ttl)
  local m = redis.call('GET', ik)
  if m == 's' then return end
  if m or not in_due then redis.call('SET', ik, 'c', 'PX', ttl) end
end
-- The jobs of one ready entry: field 'b' holds records "id\tv\td\ta\tc\tl\t#r\tr\n"
-- (see PromoteScript); an entry of the older layout has fields j, v, d.
local function entry_jobs(f)
  local m = {}
  for i = 1, #f, 2 do m[f[i]] = f[i + 1] end
  local out = {}
  if m.b then
    local b, pos = m.b, 1
    while pos <= #b do
      local id, v, d, a, c, l, rl, p = string.match(b,
        '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(%d+)\t()', pos)
      if not id then break end
      rl = tonumber(rl)
      out[#out + 1] = {id, v, d, a}
      pos = p + rl + 1
    end
  elseif m.j and m.v then
    out[1] = {m.j, m.v, m.d or '0', '-'}
  end
  return out
end
local function earliest(due_key)
  local head = redis.call('ZRANGE', due_key, 0, 0, 'WITHSCORES')
  if head[2] then return tonumber(head[2]) end
  return nil
end
)lua";

LuaScript Make(const char* name, const char* body) {
  return LuaScript{name, absl::StrCat(kPrelude, body)};
}

}  // namespace

// KEYS[1] due ZSET
// ARGV[1] key prefix, ARGV[2] wake channel, ARGV[3] wake horizon ms, ARGV[4] n,
// ARGV[5] marker TTL ms (the sent TTL),
// then n times: job id, version, due ms, ref ('' = none), deadline ms ('0' = none).
// Returns n codes: 0 created, 1 rescheduled (newer version), 2 same version (ignored),
// 3 older version than stored (ignored), 4 this version was already sent (ignored).
// Publishes the new earliest due time on the wake channel when the batch moved it earlier and
// it falls within the horizon (a promoter never sleeps longer than that).
const LuaScript& ScheduleScript() {
  static const LuaScript s = Make("schedule", R"lua(
local due_key = KEYS[1]
local prefix, channel = ARGV[1], ARGV[2]
local horizon, n, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local now = now_ms()
local first = earliest(due_key)
local wake = nil
local out = {}
for i = 0, n - 1 do
  local b = 6 + i * 5
  local id, ver, due, ref, dl = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  local jk = prefix .. 'j:' .. id
  local cur = redis.call('HGET', jk, 'v')
  local ik = prefix .. 'i:' .. id .. ':' .. ver
  local marker = nil
  if not (cur and tonumber(cur) >= tonumber(ver)) then marker = redis.call('GET', ik) end
  local code
  if cur and tonumber(cur) >= tonumber(ver) then
    if tonumber(cur) == tonumber(ver) then code = 2 else code = 3 end
  elseif marker == 's' then
    code = 4
  else
    -- A marker left by an earlier life of this (job, version) (canceled, suppressed, dead)
    -- must not stop the new one.
    if marker then redis.call('DEL', ik) end
    if cur then
      redis.call('DEL', jk)
      code = 1
    else
      code = 0
    end
    local f = {'v', ver, 'd', due}
    if ref ~= '' then f[#f + 1] = 'r'; f[#f + 1] = ref end
    if dl ~= '0' then f[#f + 1] = 'l'; f[#f + 1] = dl end
    redis.call('HSET', jk, unpack(f))
    local added = redis.call('ZADD', due_key, due, id)
    if cur then tomb(prefix .. 'i:' .. id .. ':' .. cur, added == 0, ttl) end
    local d = tonumber(due)
    if first == nil or d < first then
      first = d
      if d <= now + horizon then wake = d end
    end
  end
  out[#out + 1] = code
end
if wake then redis.call('PUBLISH', channel, string.format('%d', wake)) end
return out
)lua");
  return s;
}

// KEYS[1] due ZSET
// ARGV[1] key prefix, ARGV[2] n, ARGV[3] marker TTL ms, then n times: job id, version.
// Returns n codes: 0 canceled, 1 not found, 2 stored version is newer (ignored).
// A job canceled while in the ready stream leaves 'c' on its send marker (tomb), so the
// entry's claim sees it without reading the job.
const LuaScript& CancelScript() {
  static const LuaScript s = Make("cancel", R"lua(
local prefix, n, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local out = {}
for i = 0, n - 1 do
  local id, ver = ARGV[4 + i * 2], ARGV[5 + i * 2]
  local jk = prefix .. 'j:' .. id
  local cur = redis.call('HGET', jk, 'v')
  if not cur then
    out[#out + 1] = 1
  elseif tonumber(cur) > tonumber(ver) then
    out[#out + 1] = 2
  else
    redis.call('DEL', jk)
    local in_due = redis.call('ZREM', KEYS[1], id) == 1
    tomb(prefix .. 'i:' .. id .. ':' .. cur, in_due, ttl)
    out[#out + 1] = 0
  end
end
return out
)lua");
  return s;
}

// KEYS[1] due ZSET, KEYS[2] ready STREAM
// ARGV[1] key prefix, ARGV[2] batch limit, ARGV[3] consumer group, ARGV[4] jobs per entry
// Moves up to `limit` jobs due at server time into the stream in due order (ties by job id).
// Returns {taken from the due set, added to the stream, next due ms or -1, server now ms}.
// A member without its hash (a cancel raced an older layout) is dropped, not promoted.
// The taken jobs are the lowest ranks of the set, so one ZREMRANGEBYRANK removes them (cheaper
// than a ZREM naming each: no per-member search, no argument per member). The due time comes
// from the job's 'd' field, not from WITHSCORES: Redis 7.0 formats every score with
// snprintf("%.17g"), about 5% of Redis's time in the throughput benchmark; a job stored
// before 'd' existed falls back to its score.
// Up to `per entry` jobs share one stream entry (one XADD, one pending entry, one XACK), in
// field 'b' as records "id\tv\td\ta\tc\tl\t#r\tr\n": version, due ms, attempts, redeliveries,
// deadline ms ('0' = none) and ref with its length (a ref may hold any byte). The consumer's
// claim takes attempts, ref and deadline from the entry instead of reading the job again.
const LuaScript& PromoteScript() {
  static const LuaScript s = Make("promote", R"lua(
local jp, limit, group = ARGV[1] .. 'j:', tonumber(ARGV[2]), ARGV[3]
local per_entry = tonumber(ARGV[4])
local due_key, ready = KEYS[1], KEYS[2]
local now = now_ms()
local items = redis.call('ZRANGE', due_key, '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
local taken = #items
local added = 0
if taken > 0 and redis.call('EXISTS', ready) == 0 then
  redis.call('XGROUP', 'CREATE', ready, group, '0', 'MKSTREAM')
end
local parts, k = {}, 0
local function emit()
  if k > 0 then
    redis.call('XADD', ready, '*', 'n', k, 'b', table.concat(parts))
    parts, k = {}, 0
  end
end
for i = 1, taken do
  local id = items[i]
  local h = redis.call('HMGET', jp .. id, 'v', 'd', 'a', 'c', 'l', 'r')
  if h[1] then
    local d = h[2] or redis.call('ZSCORE', due_key, id)
    local r = h[6] or ''
    k = k + 1
    parts[k] = id .. '\t' .. h[1] .. '\t' .. d .. '\t' .. (h[3] or '0') .. '\t' ..
               (h[4] or '0') .. '\t' .. (h[5] or '0') .. '\t' .. #r .. '\t' .. r .. '\n'
    added = added + 1
    if k >= per_entry then emit() end
  end
end
emit()
if taken > 0 then redis.call('ZREMRANGEBYRANK', due_key, 0, string.format('%d', taken - 1)) end
local nxt = earliest(due_key)
if nxt == nil then nxt = -1 end
return {taken, added, string.format('%d', nxt), string.format('%d', now)}
)lua");
  return s;
}

// KEYS[1] due ZSET (unused: names the slot)
// ARGV[1] key prefix, ARGV[2] consumer, ARGV[3] claim TTL ms (the lease), ARGV[4] n,
// then n times: job id, version, source ('e' = a first read of a ready entry, which carries
// what the promoter read from the job; 'h' = read the job), attempts of the entry ('-' =
// unknown), deadline ms of the entry ('0' = none).
// Returns n codes, then, for each job whose code is 10 + c (the script read the job), its
// attempt, ref, deadline ms and redeliveries, in order (flat: no nested tables to build and
// send; a first read of an entry, whose entry carries them, adds nothing). Codes c:
// 0 claimed (send it), 1 canceled (job gone), 2 stale (job has another version, or the entry
// predates a retry of it), 3 already sent, 4 in flight (claimed by another consumer whose
// lease holds), 5 expired (past its useful life; dead-letter it).
// A claim by the same consumer again succeeds (a retried call after a lost reply).
//
// The send marker duban:{q}:i:<job>:<v> says what became of a (job, version): 'p<consumer>'
// claimed, 's' sent, 'r<attempts>' waiting for that retry, and 'c' / 'u' / 'x' for a version
// replaced or canceled, suppressed, dead. Every way a version ends writes its marker in the
// same script, so for a first read of an entry one SET NX GET decides: no marker means the job
// is still at that version (the promoter read it, and nothing ended it since). Only a marker
// that ends the version needs a read of the job to tell canceled from stale, and a reclaimed
// entry (the job may have moved on while its consumer was dead) or one past its deadline
// reads the job as before.
const LuaScript& ClaimScript() {
  static const LuaScript s = Make("claim", R"lua(
local jp, ip = ARGV[1] .. 'j:', ARGV[1] .. 'i:'
local consumer, ttl, n = ARGV[2], ARGV[3], tonumber(ARGV[4])
local mine = 'p' .. consumer
local now = now_ms()
local out = {}
local k = n
-- Takes the send marker: a code, given the job is (or was, for 'e') at this version.
local function take(ik, ea)
  local cur = redis.call('SET', ik, mine, 'NX', 'PX', ttl, 'GET')
  if not cur then return 0 end
  if cur == mine then
    redis.call('PEXPIRE', ik, ttl)
    return 0
  end
  if cur == 's' then return 3 end
  local c1 = string.byte(cur, 1)
  if c1 == 112 then return 4 end                       -- 'p': another consumer's claim
  if c1 == 114 and ea ~= '-' and cur ~= 'r' .. ea then  -- 'r': a retry of a later attempt
    return 2
  end
  return nil, c1  -- a retry's own delivery, or a marker that ended the version
end
for b = 5, 3 + n * 5, 5 do
  local id, ver, src, ea, el = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  local ik = ip .. id .. ':' .. ver
  local code = nil
  local h = nil
  if src == 'e' and (el == '0' or tonumber(el) >= now) then
    local c1
    code, c1 = take(ik, ea)
    if code == nil then
      if c1 == 114 then
        redis.call('SET', ik, mine, 'PX', ttl)
        code = 0
      else
        local v = redis.call('HGET', jp .. id, 'v')
        if not v then code = 1 elseif v ~= ver then code = 2 else
          redis.call('SET', ik, mine, 'PX', ttl)
          code = 0
        end
      end
    end
  else
    h = redis.call('HMGET', jp .. id, 'v', 'a', 'r', 'l', 'c')
    local l = h[4]
    if not h[1] then
      if redis.call('GET', ik) == 's' then code = 3 else code = 1 end
    elseif h[1] ~= ver then
      code = 2
    elseif l and tonumber(l) < now then
      code = 5
    else
      code = take(ik, ea)
      if code == nil then
        redis.call('SET', ik, mine, 'PX', ttl)
        code = 0
      end
    end
  end
  if h then
    out[(b - 5) / 5 + 1] = code + 10
    out[k + 1], out[k + 2], out[k + 3], out[k + 4] = h[2] or '0', h[3] or '', h[4] or '0',
                                                     h[5] or '0'
    k = k + 4
  else
    out[(b - 5) / 5 + 1] = code
  end
end
return out
)lua");
  return s;
}

// KEYS[1] ready STREAM
// ARGV[1] key prefix, ARGV[2] group, ARGV[3] consumer, ARGV[4] lease ms, ARGV[5] n,
// then n times: entry id, job id, version.
// Resets the idle time (XCLAIM JUSTID: no delivery counted) of entries this consumer still
// owns and extends its idempotency claims. Returns n flags: 1 renewed, 0 lease lost.
const LuaScript& RenewScript() {
  static const LuaScript s = Make("renew", R"lua(
local prefix, group, consumer, ttl, n = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local mine = 'p' .. consumer
local out = {}
for i = 0, n - 1 do
  local eid, id, ver = ARGV[6 + i * 3], ARGV[7 + i * 3], ARGV[8 + i * 3]
  local p = redis.call('XPENDING', KEYS[1], group, eid, eid, 1, consumer)
  if #p == 0 then
    out[#out + 1] = 0
  else
    redis.call('XCLAIM', KEYS[1], group, consumer, 0, eid, 'JUSTID')
    local ik = prefix .. 'i:' .. id .. ':' .. ver
    if redis.call('GET', ik) == mine then redis.call('PEXPIRE', ik, ttl) end
    out[#out + 1] = 1
  end
end
return out
)lua");
  return s;
}

// KEYS[1] ready STREAM, KEYS[2] due ZSET, KEYS[3] dead STREAM
// ARGV[1] key prefix, ARGV[2] group, ARGV[3] consumer, ARGV[4] min idle ms (the lease),
// ARGV[5] start cursor, ARGV[6] count, ARGV[7] max redeliveries (0 = unlimited),
// ARGV[8] dead cap, ARGV[9] marker TTL ms
// Takes over entries whose lease expired. A takeover is a redelivery, not a failed attempt:
// it bumps the job's redelivery counter c, never its attempt counter a. A send claim left by
// the previous owner is released (its outcome is unknown: the new owner sends again with the
// same delivery id); a "sent" marker stays, so a send that completed is not repeated. A job
// redelivered more than max redeliveries times (it keeps killing its consumers: a poison
// message) is dead-lettered with reason 'redeliveries' instead of handed out again.
// An entry holds one or more jobs (see PromoteScript); each is handed out on its own, and the
// entry is acknowledged here only when every job of it was dead-lettered (otherwise the new
// owner acknowledges it once it settles the jobs handed out). A dead-lettered job leaves 'x'
// on its send marker.
// Returns {next cursor, dead-lettered count, {entry id, job id, version, due ms,
// redeliveries, attempts of the entry ('-' = unknown)}...}.
const LuaScript& ReclaimScript() {
  static const LuaScript s = Make("reclaim", R"lua(
local ready, due_key, dead = KEYS[1], KEYS[2], KEYS[3]
local prefix, group, consumer = ARGV[1], ARGV[2], ARGV[3]
local max_redeliveries, cap, ttl = tonumber(ARGV[7]), ARGV[8], ARGV[9]
local r = redis.call('XAUTOCLAIM', ready, group, consumer, ARGV[4], ARGV[5], 'COUNT', ARGV[6])
local out = {r[1], 0}
local buried = {}
local nburied = 0
for _, e in ipairs(r[2]) do
  local f = e[2]
  if f then
    local given = 0
    local jobs = entry_jobs(f)
    for _, job in ipairs(jobs) do
      local id, ver, due, ea = job[1], job[2], job[3], job[4]
      local c = 0
      local give = true
      local jk = prefix .. 'j:' .. id
      local ik = prefix .. 'i:' .. id .. ':' .. ver
      local cur = redis.call('GET', ik)
      -- A claim of the dead owner goes (its send's outcome is unknown); other markers stay.
      if cur and string.byte(cur, 1) == 112 then redis.call('DEL', ik) end
      local h = redis.call('HMGET', jk, 'v', 'r', 'a')
      if h[1] == ver then
        c = redis.call('HINCRBY', jk, 'c', 1)
        if max_redeliveries > 0 and c > max_redeliveries and cur ~= 's' then
          local fields = {'j', id, 'v', ver, 'a', h[3] or '0'}
          if h[2] then fields[#fields + 1] = 'r'; fields[#fields + 1] = h[2] end
          fields[#fields + 1] = 'why'; fields[#fields + 1] = 'redeliveries'
          fields[#fields + 1] = 'err'
          fields[#fields + 1] = 'redelivered ' .. c .. ' times without being settled'
          redis.call('XADD', dead, 'MAXLEN', cap, '*', unpack(fields))
          redis.call('DEL', jk)
          redis.call('ZREM', due_key, id)
          redis.call('SET', ik, 'x', 'PX', ttl)
          nburied = nburied + 1
          give = false
        end
      end
      if give then
        out[#out + 1] = {e[1], id, ver, due, c, ea}
        given = given + 1
      end
    end
    if given == 0 then buried[#buried + 1] = e[1] end  -- all dead-lettered, or no job in it
  end
end
if #buried > 0 then
  redis.call('XACK', ready, group, unpack(buried))
  trim_settled(ready, group)
end
out[2] = nburied
return out
)lua");
  return s;
}

// KEYS[1] due ZSET, KEYS[2] ready STREAM, KEYS[3] dead STREAM
// ARGV[1] key prefix, ARGV[2] group, ARGV[3] sent TTL ms, ARGV[4] dead cap,
// ARGV[5] wake channel, ARGV[6] wake horizon ms, ARGV[7] lease ms, ARGV[8] n,
// then n items of 4 fields (kind, entry id ('' = none), job id, version) followed by the
// kind's extra fields (only retries and dead letters have any, so a batch of sends carries
// no padding):
//   kind 's' sent:        mark (job, version) sent; remove the job if still this version
//                         (a claim marker 'p…' replaced by 's' proves it is: every end of a
//                         version overwrites the marker, so the job is not read then)
//   kind 'u' suppressed:  remove the job if still this version (finished without a send)
//   kind 'k' skip:        only remove the entry (stale, canceled or duplicate delivery); if the
//                         job is still at this version it returns to the due set at
//                         now + the lease, so a skip never orphans a job
//   kind 'r' retry:       + delay ms, last error, max attempts (0 = unlimited);
//                         attempt + 1, back into the due set at now + delay, unless that is
//                         past the useful life ('expired') or attempts are used up
//                         ('max_attempts'): then dead
//   kind 'x' dead:        + reason, last error
// Every item's entry is XACK'd (all in one call), then the settled head of the stream is
// trimmed (trim_settled). An entry holding several jobs must be named only by the item that
// settles its last job (the caller's bookkeeping: see DeliveryWorker). Each end of a version
// leaves its marker for the sent TTL (see ClaimScript): 's' sent, 'u' suppressed, 'x' dead,
// and a retry 'r<attempts>' until it is claimed again. A job whose stored version differs from the
// item's (rescheduled meanwhile) is left alone: the newer schedule stands. Jobs finished by a send
// or a suppression are removed together (one DEL and one ZREM for the batch); `gone` keeps
// later items of the same call seeing them as removed, exactly as if removed one by one.
// Returns 2n values, a flat pair per item: code, detail; codes 0 done, 1 ignored (other
// version or job gone), 2 retry scheduled (detail = due ms), 3 dead-lettered (detail = reason).
const LuaScript& SettleScript() {
  static const LuaScript s = Make("settle", R"lua(
local due_key, ready, dead = KEYS[1], KEYS[2], KEYS[3]
local jp, ip, group, sent_ttl, cap = ARGV[1] .. 'j:', ARGV[1] .. 'i:', ARGV[2], ARGV[3], ARGV[4]
local channel, horizon = ARGV[5], tonumber(ARGV[6])
local lease, n = tonumber(ARGV[7]), tonumber(ARGV[8])
local now = now_ms()
local first = nil
local first_known = false
local wake = nil
local out = {}
local acks = {}
local gone, gone_keys, gone_ids = {}, {}, {}
local function remove_gone()
  if #gone_ids > 0 then
    redis.call('DEL', unpack(gone_keys))
    redis.call('ZREM', due_key, unpack(gone_ids))
    gone_keys, gone_ids = {}, {}
  end
end
local function finish(jk, id)
  gone[id] = true
  gone_keys[#gone_keys + 1] = jk
  gone_ids[#gone_ids + 1] = id
end
local function version_of(jk, id)
  if gone[id] then return nil end
  return redis.call('HGET', jk, 'v')
end
local function bury(jk, id, ver, h, attempts, reason, err)
  redis.call('SET', ip .. id .. ':' .. ver, 'x', 'PX', sent_ttl)
  local f = {'j', id, 'v', ver, 'a', attempts}
  if h[2] then f[#f + 1] = 'r'; f[#f + 1] = h[2] end
  f[#f + 1] = 'why'; f[#f + 1] = reason
  f[#f + 1] = 'err'; f[#f + 1] = err
  redis.call('XADD', dead, 'MAXLEN', cap, '*', unpack(f))
  redis.call('DEL', jk)
  redis.call('ZREM', due_key, id)
end
local b = 9
for i = 1, n do
  local kind, eid, id, ver = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  b = b + 4
  if eid ~= '' then acks[#acks + 1] = eid end
  local jk = jp .. id
  local code, detail = 1, ''
  if kind == 's' then
    local was = redis.call('SET', ip .. id .. ':' .. ver, 's', 'PX', sent_ttl, 'GET')
    if not gone[id] and was and string.byte(was, 1) == 112 then
      finish(jk, id)
      code = 0
    elseif version_of(jk, id) == ver then
      finish(jk, id)
      code = 0
    end
  elseif kind == 'u' then
    if version_of(jk, id) == ver then
      -- Now, not with the batch: a later 's' item of this call may overwrite it.
      redis.call('SET', ip .. id .. ':' .. ver, 'u', 'PX', sent_ttl)
      finish(jk, id)
      code = 0
    end
  elseif kind == 'k' then
    if version_of(jk, id) == ver then
      -- Skipping the job's current version (e.g. it was in flight elsewhere) must not orphan
      -- it: it comes back one lease later unless that other delivery settles it first.
      local at = string.format('%d', now + lease)
      if redis.call('ZADD', due_key, 'NX', at, id) == 1 then redis.call('HSET', jk, 'd', at) end
      code = 0
    end
  elseif kind == 'r' then
    local x1, x2, x3 = ARGV[b], ARGV[b + 1], ARGV[b + 2]
    b = b + 3
    local h = {}
    if not gone[id] then h = redis.call('HMGET', jk, 'v', 'r', 'l', 'a') end
    if h[1] == ver then
      local attempts = tonumber(h[4] or '0') + 1
      local at = now + tonumber(x1)
      local max = tonumber(x3)
      if max > 0 and attempts >= max then
        bury(jk, id, ver, h, attempts, 'max_attempts', x2)
        code, detail = 3, 'max_attempts'
      elseif h[3] and at > tonumber(h[3]) then
        bury(jk, id, ver, h, attempts, 'expired', x2)
        code, detail = 3, 'expired'
      else
        local at_ms = string.format('%d', at)
        redis.call('HSET', jk, 'a', attempts, 'd', at_ms)
        -- Releases the claim; an older entry of this job (left unacknowledged by a consumer
        -- that died) is told apart from the retry's own by its attempts.
        redis.call('SET', ip .. id .. ':' .. ver, 'r' .. attempts, 'PX', sent_ttl)
        if not first_known then
          remove_gone()
          first = earliest(due_key)
          first_known = true
        end
        redis.call('ZADD', due_key, at_ms, id)
        if first == nil or at < first then
          first = at
          if at <= now + horizon then wake = at end
        end
        code, detail = 2, at_ms
      end
    end
  elseif kind == 'x' then
    local x1, x2 = ARGV[b], ARGV[b + 1]
    b = b + 2
    local h = {}
    if not gone[id] then h = redis.call('HMGET', jk, 'v', 'r', 'l', 'a') end
    if h[1] == ver then
      bury(jk, id, ver, h, tonumber(h[4] or '0'), x1, x2)
      code, detail = 3, x1
    end
  else
    return redis.error_reply('ERR duban settle: unknown kind ' .. kind)
  end
  out[#out + 1] = code
  out[#out + 1] = detail
end
remove_gone()
if #acks > 0 then
  redis.pcall('XACK', ready, group, unpack(acks))
  trim_settled(ready, group)
end
if wake then redis.call('PUBLISH', channel, string.format('%d', wake)) end
return out
)lua");
  return s;
}

// KEYS[1] lease key; ARGV[1] owner, ARGV[2] TTL ms.
// Returns {1, ttl} when the caller holds the lease (taken or renewed), {0, remaining ms} when
// another owner does.
const LuaScript& PromoterLeaseScript() {
  static const LuaScript s = Make("promoter_lease", R"lua(
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(ARGV[2])}
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1, tonumber(ARGV[2])}
end
return {0, redis.call('PTTL', KEYS[1])}
)lua");
  return s;
}

// KEYS[1] lease key; ARGV[1] owner. Returns 1 if released, 0 if not the owner.
const LuaScript& ReleaseLeaseScript() {
  static const LuaScript s = Make("release_lease", R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
)lua");
  return s;
}

// KEYS[1] due ZSET, KEYS[2] ready STREAM, KEYS[3] dead STREAM; ARGV[1] group.
// Returns {due count, unsettled ready entries, pending count, dead count, oldest due lateness
// ms, next due ms or -1, oldest unsettled ready entry age ms or -1, server now ms,
// undelivered count}. Settled entries not yet trimmed (behind an older pending one) are not
// counted: unsettled = pending + undelivered (the group's lag).
const LuaScript& StatsScript() {
  static const LuaScript s = Make("stats", R"lua(
local now = now_ms()
local due = redis.call('ZCARD', KEYS[1])
local pending, undelivered, oldest = 0, 0, nil
local g = nil
if redis.call('EXISTS', KEYS[2]) == 1 then g = group_info(KEYS[2], ARGV[1]) end
if g ~= nil then
  local p = redis.call('XPENDING', KEYS[2], ARGV[1])
  pending = p[1]
  if pending > 0 then oldest = p[2] end
  local first_new = redis.call('XRANGE', KEYS[2], '(' .. g['last-delivered-id'], '+', 'COUNT', 1)
  if g['lag'] then
    undelivered = g['lag']
  elseif first_new[1] then
    -- lag unknown (e.g. entries deleted by hand): count what follows the last delivered id
    undelivered = #redis.call('XRANGE', KEYS[2], first_new[1][1], '+')
  end
  if oldest == nil and first_new[1] then oldest = first_new[1][1] end
elseif redis.call('EXISTS', KEYS[2]) == 1 then
  undelivered = redis.call('XLEN', KEYS[2])
  local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
  if head[1] then oldest = head[1][1] end
end
local oldest_age = -1
if oldest then
  oldest_age = now - tonumber(string.match(oldest, '^(%d+)'))
  if oldest_age < 0 then oldest_age = 0 end
end
local dead = redis.call('XLEN', KEYS[3])
local nxt = earliest(KEYS[1])
local late = 0
if nxt == nil then nxt = -1 elseif now > nxt then late = now - nxt end
return {due, pending + undelivered, pending, dead, string.format('%d', late),
        string.format('%d', nxt), oldest_age, string.format('%d', now), undelivered}
)lua");
  return s;
}

// KEYS[1] due ZSET; ARGV[1] key prefix, ARGV[2] job id.
// Returns {} if unknown, else {version, ref, deadline, attempts, redeliveries, due ms or -1}.
const LuaScript& GetJobScript() {
  static const LuaScript s = Make("get_job", R"lua(
local h = redis.call('HMGET', ARGV[1] .. 'j:' .. ARGV[2], 'v', 'r', 'l', 'a', 'c')
if not h[1] then return {} end
local due = redis.call('ZSCORE', KEYS[1], ARGV[2])
return {h[1], h[2] or '', h[3] or '0', h[4] or '0', h[5] or '0', due or '-1'}
)lua");
  return s;
}

absl::StatusOr<RedisReplyPtr> ScriptRunner::Run(RedisConnection& conn, const LuaScript& script,
                                                const std::vector<std::string>& keys,
                                                const std::vector<std::string>& args) {
  for (int round = 0; round < 2; ++round) {
    std::string& sha = shas_[&script];
    if (sha.empty()) {
      auto loaded = conn.Command({"SCRIPT", "LOAD", script.source});
      if (!loaded.ok()) return loaded.status();
      auto text = ReplyString(loaded->get());
      if (!text.ok()) return text.status();
      sha = *text;
    }
    // Views, not copies: a settle of a batch passes about a thousand arguments.
    const std::string numkeys = absl::StrCat(keys.size());
    std::vector<absl::string_view> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.push_back("EVALSHA");
    argv.push_back(sha);
    argv.push_back(numkeys);
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    auto reply = conn.CommandViews(argv);
    if (reply.ok() || !absl::IsNotFound(reply.status())) return reply;
    sha.clear();  // NOSCRIPT: the server lost its script cache (restart); load and run again
  }
  return absl::UnavailableError(absl::StrCat("redis: script ", script.name, " not loadable"));
}

}  // namespace duban::queue
