#!lua name=chotdon
--[[
chotdon order book: the rules of orders/book.py carried out atomically, one FCALL per batch.

orders/book.py is the reference; tests/integration/test_store.py requires both to produce the same
drafts from the same events. Keep the two in step: a rule changed here and not there is a bug.

One file on purpose: FUNCTION LOAD takes a library as one source, and Redis keeps and replicates
exactly that text, so what runs is what is read here (no build step joining pieces).

Key layout. Every key of a livestream shares the hash tag {<shop>:<livestream>} so one call can
touch all of them on Redis Cluster; KEYS[1] is the meta key, the others are derived from it.
  P = chotdon:{<shop>:<livestream>}
  P:meta      hash  shop, live, seq (last number given), wm.<partition> (offset watermark of
                    each Kafka partition the livestream's comments came from; absent: -1),
                    open (1/0), repeat (ignore|add), ver (config version), config (shop config
                    JSON), fp (fingerprint of the last registration, for idempotence),
                    until (a stopped livestream: when all its keys expire, see retain)
  P:products  hash  code -> msgpack {n=name, p=price, s=stock (-1: unlimited), a={attr names},
                    v={{allowed values} per attribute name, in a's order}}
  P:held      hash  code -> units reserved by live and finalised lines (remaining = stock - held)
  P:q:<code>  zset  the product's waiting requests: member "<ticket>:<line id>:<user id>", score
                    the ticket (given in comment order: the head has the lowest); the units
                    of a request are kept with its line. A place is counted when read (ZCOUNT
                    up to the line's earliest ticket), so a request leaving moves no one
  P:tickets   hash  code -> the last ticket given for the product's queue
  P:users     hash  user id -> msgpack customer record with the user's draft (see below)
  P:view      hash  seq -> the draft as JSON, as the CLI, the API and draft-events show it but
                    for the places: a waiting line's "waitlist" is [<ticket>, "<code>"], made
                    a place by whoever reads it (resolve_view, DraftStore)
  P:seen      set   comment ids applied
  P:unattr    list  JSON of comments without a commenter
  P:recent:<partition>  zset  seq -> the highest offset of the batch that last changed the
                    draft; a redelivery republishes what changed from its first offset on
  P:cmds      hash  command id -> the outcome of a staff command, "<status> US <seq> US
                    <reasons JSON>" (seq empty when no draft was found): idempotence

A user record is {p=platform, n=name, ph=phone, rep=repeat memory, d=draft (the current one: a
finalised draft is dropped from the record when the customer's next order starts a new draft,
and lives on in P:view only)}; a draft is {seq, st=open|cancelled|finalised, ca=created_at,
ua=updated_at, cu={p, n, ph} (its own copy: a stopped livestream updates the customer, not the
draft), L={lines}, H=history as rendered JSON, nl=next line id, and what staff set: ct=contact
{name=..., phone=...} (absent: all null), sf=staff (assignee), ac=action, oid=order_id,
fa=finalised_at, fb=finalised_by}; a line is an array (see ID..LAST below: arrays cost half as
much to (un)pack as maps) holding its merge key, its JSON up to qty (all that never changes once
the line exists, but for a staff choice of variant) and its comment ids as rendered JSON. So a
changed draft is rendered mostly by concatenation, never decoded from or re-encoded to JSON as a
whole: that is the budget.

Keys and signatures are built with the separators US (\31) and RS (\30), which validation
refuses in codes and attributes: a line's merge key is "k|u" US code US (name RS value US)*
with names sorted, so a cancel naming some attributes is a plain substring search in it.

Functions.
  FCALL chotdon_register 1 P:meta <shop> <livestream> <products JSON> <repeat> <config JSON>
  FCALL chotdon_apply    1 P:meta <events JSON> [<expected watermarks JSON {partition: offset}>]
  FCALL chotdon_command  1 P:meta <command id> <op JSON>
  FCALL chotdon_stop     1 P:meta [<until: unix seconds when every key of it expires>]
  FCALL_RO chotdon_customers 1 P:meta
register returns the drafts it changed, by seq: an array of JSON objects. apply returns
[changed drafts, redelivered drafts, drafts created, moved flags, [partition, watermark, ...]
after the call]; it refuses the whole batch when a partition's stored watermark is below the
expected one given (see check_expected). Redelivered drafts are the
current drafts that batches at or after the first redelivered offset changed (see
redelivered_views); moved flags say, for each changed draft, whether its only change is a
waitlist place moving up, which the agent does not publish (see orders/README.md).
An event is [comment_id, offset, user_id|null, user_name, created_at, intent, phone|null,
[[code, qty, {attributes}, status], ...], platform, partition].
command returns [status (applied|refused|stale), reasons JSON ([[code, field|null, {params}],
...]), the addressed draft's JSON (or false), [other drafts whose content changed], duplicate
0|1]; the op is described in orders/README.md ("Staff commands").

Nothing is written before the input is validated and every change is computed: the whole call
works on caches of what it read and writes them back at the end (finish), so a refused batch
leaves no trace.
]]

-- Redis 7.0 runs the library's top level without the standard libraries (cjson, string...):
-- they are bound on the first call.
local NULL, enc, dec, pack, unpack_mp, FMT
local CHUNK = 1000 -- arguments per Redis command; Lua's C stack allows a few thousand
local US, RS = '\31', '\30'
-- A line: ID stable within its draft (a queue names it), KEY merge key, CODE (false: a custom
-- line), QTY, RES reserved, W waiting requests (below), PRICE unit price (-1: unknown code),
-- FIXED its JSON up to qty, CIDS its comment ids as JSON, LAST the last comment id added.
-- W is the line's waiting requests, oldest first: {{ticket, units}, ...} (empty: none waiting).
-- A catalogue line has a CODE and PRICE >= 0; only such lines hold stock and wait in queues.
local ID, KEY, CODE, QTY, RES, W, PRICE, FIXED, CIDS, LAST = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
local LAYOUT = 2 -- of a livestream's keys: P:meta layout; 1 (absent) had rendered places
-- A waiting line's place in P:view: [ticket, "code"] (codes never hold quotes: see register).
local MARKER = '"waitlist":%[(%d+),"([^"]*)"%]'

-- Per-call state, reset at the start of every call (a library's upvalues outlive calls).
local K, PROD, HELD, HELD_DIRTY, TICKETS, USERS, DIRTY, CHANGED
local SEQ, REPEAT, SHOP_J, LIVE_J

local function fail(msg)
  error({ err = 'ERR chotdon: ' .. msg })
end

local function reset(meta_key)
  if not enc then
    NULL, enc, dec = cjson.null, cjson.encode, cjson.decode
    pack, unpack_mp, FMT = cmsgpack.pack, cmsgpack.unpack, string.format
  end
  if type(meta_key) ~= 'string' or string.sub(meta_key, 1, 9) ~= 'chotdon:{'
      or string.sub(meta_key, -5) ~= ':meta' then
    fail('KEYS[1] must be chotdon:{<shop>:<livestream>}:meta')
  end
  local p = string.sub(meta_key, 1, -6)
  K = { meta = meta_key, products = p .. ':products', held = p .. ':held', q = p .. ':q:',
    users = p .. ':users', view = p .. ':view', seen = p .. ':seen', unattr = p .. ':unattr',
    recent = p .. ':recent:', cmds = p .. ':cmds', tickets = p .. ':tickets' }
  PROD, HELD, HELD_DIRTY, TICKETS = {}, {}, {}, {}
  USERS, DIRTY, CHANGED = {}, {}, {}
end

-- Chunked multi-key reads and writes ----------------------------------------------------------

local function call_each_chunk(cmd, key, args, step)
  local n = #args
  local i = 1
  while i <= n do
    local j = math.min(i + step - 1, n)
    redis.call(cmd, key, unpack(args, i, j))
    i = j + 1
  end
end

local function read_many(cmd, key, names)
  local out = {}
  local i = 1
  while i <= #names do
    local j = math.min(i + CHUNK - 1, #names)
    local r = redis.call(cmd, key, unpack(names, i, j))
    for k = 1, #r do out[#out + 1] = r[k] end
    i = j + 1
  end
  return out
end

-- Fills cache[name] for names not cached yet, decoding msgpack; absent entries become false.
local function prefetch(cache, key, names)
  local todo = {}
  for _, name in ipairs(names) do
    if cache[name] == nil then todo[#todo + 1] = name end
  end
  if #todo == 0 then return end
  local raw = read_many('HMGET', key, todo)
  for i, name in ipairs(todo) do
    cache[name] = raw[i] and unpack_mp(raw[i]) or false
  end
end

local function cached(cache, key, name)
  local v = cache[name]
  if v == nil then
    local raw = redis.call('HGET', key, name)
    v = raw and unpack_mp(raw) or false
    cache[name] = v
  end
  return v
end

local function product(code) return cached(PROD, K.products, code) end
local function user_record(user) return cached(USERS, K.users, user) end

local function held(code)
  local v = HELD[code]
  if v == nil then
    v = tonumber(redis.call('HGET', K.held, code) or '0')
    HELD[code] = v
  end
  return v
end

local function set_held(code, v)
  HELD[code] = v
  HELD_DIRTY[code] = true
end

-- Queues: a sorted set per product, written as the call goes (ZADD, ZREM: O(log n)); a
-- request leaving rewrites nothing behind it. Places are counted only for what is shown.

local function member(ticket, lid, user) return FMT('%d:%d:', ticket, lid) .. user end

local function next_ticket(code)
  local t = TICKETS[code]
  if t == nil then t = tonumber(redis.call('HGET', K.tickets, code) or '0') end
  TICKETS[code] = t + 1
  return t + 1
end

-- A new request at the back of the product's queue.
local function qpush(code, user, l, units)
  local t = next_ticket(code)
  redis.call('ZADD', K.q .. code, t, member(t, l[ID], user))
  l[W][#l[W] + 1] = { t, units }
end

-- Every waiting request of a line leaves its queue.
local function qremove(code, user, l)
  local w = l[W]
  if #w == 0 then return end
  local members = {}
  for i, r in ipairs(w) do members[i] = member(r[1], l[ID], user) end
  redis.call('ZREM', K.q .. code, unpack(members))
  l[W] = {}
end

-- The 1-based place of a ticket: the requests at or before it.
local function place(code, ticket)
  return redis.call('ZCOUNT', K.q .. code, '-inf', ticket)
end

-- JSON fragments -----------------------------------------------------------------------------

local function jint(n) return FMT('%d', n) end

local function jtext(s)
  if s == nil then return 'null' end
  return enc(s)
end

-- cjson would write an empty table as {}, right here, and sorts nothing: keys are sorted so equal
-- attributes always render (and compare) alike.
local function jattrs(a)
  local names = {}
  for k in pairs(a) do names[#names + 1] = k end
  if #names == 0 then return '{}' end
  table.sort(names)
  local parts = {}
  for i, k in ipairs(names) do parts[i] = enc(k) .. ':' .. enc(a[k]) end
  return '{' .. table.concat(parts, ',') .. '}'
end

-- Appends a line's JSON to parts: its fixed prefix, then what changes.
local function put_line(parts, n, l)
  parts[n + 1] = l[FIXED]
  parts[n + 2] = '"qty":'
  parts[n + 3] = jint(l[QTY])
  parts[n + 4] = ',"reserved":'
  parts[n + 5] = jint(l[RES])
  local w = l[W][1]
  parts[n + 6] = w and ',"waitlist":[' .. jint(w[1]) .. ',"' .. l[CODE] .. '"],"comment_ids":['
    or ',"waitlist":null,"comment_ids":['
  parts[n + 7] = l[CIDS]
  parts[n + 8] = ']}'
  return n + 8
end

local function jline(l)
  local parts = {}
  put_line(parts, 0, l)
  return table.concat(parts)
end

-- What staff set, after updated_at: one constant string for the drafts staff never touched.
local CONTACT_KEYS = { 'name', 'phone', 'address', 'ward', 'province', 'note' }
local UNTOUCHED = ',"contact":{"name":null,"phone":null,"address":null,"ward":null,'
  .. '"province":null,"note":null},"staff":null,"action":null,"order_id":null,'
  .. '"finalised_at":null,"finalised_by":null}'

local function jstaff(d)
  if not (d.ct or d.sf or d.ac or d.oid or d.fa or d.fb) then return UNTOUCHED end
  local ct, parts = d.ct or {}, {}
  for i, k in ipairs(CONTACT_KEYS) do parts[i] = '"' .. k .. '":' .. jtext(ct[k]) end
  return ',"contact":{' .. table.concat(parts, ',') .. '},"staff":' .. jtext(d.sf)
    .. ',"action":' .. jtext(d.ac) .. ',"order_id":' .. jtext(d.oid) .. ',"finalised_at":'
    .. jtext(d.fa) .. ',"finalised_by":' .. jtext(d.fb) .. '}'
end

-- One table.concat per draft: Redis's Lua hashes every byte of every string it creates, so
-- intermediate strings (a line's JSON, then the draft's) would cost twice.
local function jdraft(user, d)
  local cu, total = d.cu, 0
  local parts = { '{"shop_id":', SHOP_J, ',"livestream_id":', LIVE_J, ',"seq":', jint(d.seq),
    ',"status":"', d.st, '","customer":{"platform":', enc(cu.p), ',"user_id":', enc(user),
    ',"name":', jtext(cu.n), ',"phone":', jtext(cu.ph), '},"lines":[' }
  local n = #parts
  for i, l in ipairs(d.L) do
    if i > 1 then
      n = n + 1
      parts[n] = ','
    end
    n = put_line(parts, n, l)
    if l[PRICE] >= 0 then total = total + l[PRICE] * l[RES] end
  end
  parts[n + 1] = '],"history":['
  parts[n + 2] = d.H
  parts[n + 3] = '],"total":'
  parts[n + 4] = jint(total)
  parts[n + 5] = ',"created_at":'
  parts[n + 6] = enc(d.ca)
  parts[n + 7] = ',"updated_at":'
  parts[n + 8] = enc(d.ua)
  parts[n + 9] = jstaff(d)
  return table.concat(parts)
end

local function junattributed(e)
  local items = {}
  for i, it in ipairs(e[8]) do
    items[i] = '{"code":' .. enc(it[1]) .. ',"qty":' .. jint(it[2]) .. ',"attributes":'
      .. jattrs(it[3]) .. ',"status":' .. enc(it[4]) .. '}'
  end
  return '{"comment_id":' .. enc(e[1]) .. ',"created_at":' .. enc(e[5]) .. ',"intent":"'
    .. e[6] .. '","items":[' .. table.concat(items, ',') .. ']}'
end

-- Drafts -------------------------------------------------------------------------------------

local function touch(user, d, t)
  CHANGED[user] = d
  DIRTY[user] = true
  if t then d.ua = t end
end

local function find_line(d, lid)
  for _, l in ipairs(d.L) do
    if l[ID] == lid then return l end
  end
  fail('corrupt state: a queue names line ' .. lid .. ' that its draft lacks')
end

local function to_history(d, l)
  local json = jline(l)
  d.H = d.H == '' and json or d.H .. ',' .. json
end

-- Released or added units go to the head of the queue, partially if need be. The head of a
-- queue is always its line's earliest request (a line's tickets grow with its requests).
local function serve(code, t)
  local p = product(code)
  if not p then return end
  local hv = held(code)
  local avail = p.s < 0 and math.huge or p.s - hv
  local key = K.q .. code
  while avail > 0 do
    local head = redis.call('ZRANGE', key, 0, 0)[1]
    if not head then break end
    local ticket, lid, user = string.match(head, '^(%d+):(%d+):(.*)$')
    local d = user_record(user).d
    local l = find_line(d, tonumber(lid))
    local r = l[W][1]
    if not r or r[1] ~= tonumber(ticket) then
      fail('corrupt state: the head of queue ' .. code .. ' is not its line\'s earliest request')
    end
    local take = math.min(avail, r[2])
    l[RES] = l[RES] + take
    hv, avail, r[2] = hv + take, avail - take, r[2] - take
    if r[2] == 0 then
      table.remove(l[W], 1)
      redis.call('ZREM', key, head)
    end
    touch(user, d, t)
  end
  set_held(code, hv)
end

-- l[QTY] already counts the new units; a line that was waiting keeps its earliest place.
local function request(user, l, p, code, units)
  local hv = held(code)
  local take = units
  if p.s >= 0 then take = math.max(0, math.min(units, p.s - hv)) end
  l[RES] = l[RES] + take
  set_held(code, hv + take)
  local rest = units - take
  if rest > 0 then qpush(code, user, l, rest) end
end

-- Takes lines out of stock: all their requests leave first, so freed units never serve a line
-- that is leaving too. A live known line waits for exactly q - r units.
-- A custom line holds no stock: its reserved just drops to 0.
local function release(user, lines, t)
  local freed, codes = {}, {}
  for _, l in ipairs(lines) do
    local code = l[CODE]
    if code and l[PRICE] >= 0 then
      qremove(code, user, l)
      if l[RES] > 0 then
        set_held(code, held(code) - l[RES])
        if not freed[code] then
          freed[code] = true
          codes[#codes + 1] = code
        end
      end
    end
    l[W] = {}
    l[RES] = 0
  end
  for _, code in ipairs(codes) do serve(code, t) end
end

-- (name RS value US)* with names sorted: equal attributes, equal keys.
local function attrs_key(attrs)
  if next(attrs) == nil then return '' end
  local names = {}
  for k in pairs(attrs) do names[#names + 1] = k end
  table.sort(names)
  local parts = {}
  for i, k in ipairs(names) do parts[i] = k .. RS .. attrs[k] .. US end
  return table.concat(parts)
end

local function line_status(item, p)
  if not p then return 'unknown_code' end
  if item[4] == 'needs_variant' then return 'needs_variant' end
  for _, name in ipairs(p.a) do
    if item[3][name] == nil then return 'needs_variant' end
  end
  return 'matched'
end

-- A line's JSON up to qty.
local function jfixed(code, name, attrs, status, price)
  return '{"code":' .. jtext(code) .. ',"name":' .. jtext(name) .. ',"attributes":'
    .. jattrs(attrs) .. ',"status":"' .. status .. '","unit_price":'
    .. (price >= 0 and jint(price) or 'null') .. ','
end

local function new_line(d, code, attrs, key, p, item)
  local name, price = nil, -1
  if p then name, price = p.n, p.p end
  local l = { d.nl, key, code, 0, 0, {}, price, jfixed(code, name, attrs, line_status(item, p),
    price), '', '' }
  d.nl = d.nl + 1
  d.L[#d.L + 1] = l
  return l
end

-- A comment's item, or a line staff added (cid nil: no comment id).
local function add_item(user, d, item, cid)
  local code, qty, attrs = item[1], item[2], item[3]
  local p = product(code)
  -- Known and unknown lines of one code never merge: a code that became known later starts
  -- a line of its own.
  local key = (p and 'k' or 'u') .. US .. code .. US .. attrs_key(attrs)
  local line
  for _, l in ipairs(d.L) do
    if l[KEY] == key then
      line = l
      break
    end
  end
  line = line or new_line(d, code, attrs, key, p, item)
  line[QTY] = line[QTY] + qty
  if cid and line[LAST] ~= cid then
    line[CIDS] = line[CIDS] == '' and enc(cid) or line[CIDS] .. ',' .. enc(cid)
    line[LAST] = cid
  end
  if p then request(user, line, p, code, qty) end
end

-- The items of an order comment as a multiset: equal signatures make a repeat.
local function signature(items)
  local parts = {}
  for i, it in ipairs(items) do parts[i] = it[1] .. US .. jint(it[2]) .. US .. attrs_key(it[3]) end
  if #parts > 1 then table.sort(parts) end
  return table.concat(parts, RS .. RS)
end

local function order(user, c, e)
  local sig = signature(e[8])
  local repeated = c.rep == sig
  if not repeated then
    c.rep = sig
    DIRTY[user] = true
  end
  if repeated and REPEAT == 'ignore' then return end
  local t = e[5]
  local d = c.d
  if not d or d.st == 'finalised' then
    -- A finalised draft stays as it is, in P:view under its number; the customer starts anew.
    SEQ = SEQ + 1
    d = { seq = SEQ, st = 'open', cu = { p = c.p, n = c.n, ph = c.ph }, L = {}, H = '',
      ca = t, ua = t, nl = 1 }
    c.d = d
  elseif d.st == 'cancelled' then
    -- Reopen: same number, no lines; what was cancelled stays on record in the history.
    for _, l in ipairs(d.L) do to_history(d, l) end
    d.L, d.st, d.ac = {}, 'open', nil
  end
  for _, it in ipairs(e[8]) do add_item(user, d, it, e[1]) end
  touch(user, d, t)
end

local function cancels(items, l)
  local key = l[KEY]
  for _, it in ipairs(items) do
    if l[CODE] == it[1] then
      local all = true
      for k, v in pairs(it[3]) do
        if not string.find(key, US .. k .. RS .. v .. US, 1, true) then
          all = false
          break
        end
      end
      if all then return true end
    end
  end
  return false
end

local function cancel(user, c, e)
  if c.rep ~= nil then
    c.rep = nil
    DIRTY[user] = true
  end
  local d = c.d
  if not d or d.st ~= 'open' then return end
  local items, t = e[8], e[5]
  if #items == 0 then
    release(user, d.L, t)
    d.st = 'cancelled'
  else
    local doomed, kept = {}, {}
    for _, l in ipairs(d.L) do
      if cancels(items, l) then doomed[#doomed + 1] = l else kept[#kept + 1] = l end
    end
    if #doomed == 0 then return end
    release(user, doomed, t)
    if #kept == 0 then
      d.st = 'cancelled' -- its lines stay in `lines`, for the record
    else
      d.L = kept
      for _, l in ipairs(doomed) do to_history(d, l) end
    end
  end
  touch(user, d, t)
end

local function customer_facts(user, e, open)
  local c = user_record(user)
  if not c then
    c = {}
    USERS[user] = c
    DIRTY[user] = true
  end
  local platform, name, phone = e[9], e[4], e[7]
  if c.p ~= platform then c.p, DIRTY[user] = platform, true end
  if name ~= '' and c.n ~= name then c.n, DIRTY[user] = name, true end
  if phone ~= NULL and phone ~= '' and c.ph ~= phone then c.ph, DIRTY[user] = phone, true end
  local d = c.d
  if open and d and d.st ~= 'finalised' then
    local cu = d.cu
    if cu.p ~= c.p or cu.n ~= c.n or cu.ph ~= c.ph then
      cu.p, cu.n, cu.ph = c.p, c.n, c.ph
      touch(user, d, e[5])
    end
  end
  return c
end

-- The end of every writing call ----------------------------------------------------------

local function write_hash(key, dirty, encode)
  local args = {}
  for name in pairs(dirty) do
    args[#args + 1] = name
    args[#args + 1] = encode(name)
  end
  if #args > 0 then call_each_chunk('HSET', key, args, 2 * CHUNK) end
end

-- A view with its places: [template, [place of each waiting line, in the template's order]].
local function with_places(view)
  local places = {}
  for ticket, code in string.gmatch(view, MARKER) do places[#places + 1] = place(code, ticket) end
  return { view, places }
end

-- The view as the CLI and the API show it (the places filled in).
local function resolve_view(view)
  return (string.gsub(view, MARKER, function(ticket, code)
    return '"waitlist":' .. jint(place(code, ticket))
  end))
end

local function finish()
  write_hash(K.held, HELD_DIRTY, function(code) return HELD[code] end)
  write_hash(K.tickets, TICKETS, function(code) return TICKETS[code] end)
  write_hash(K.users, DIRTY, function(user) return pack(USERS[user]) end)
  local changed = {}
  for user, d in pairs(CHANGED) do changed[#changed + 1] = { d.seq, user, d } end
  table.sort(changed, function(a, b) return a[1] < b[1] end)
  local out, views = {}, {}
  for i, x in ipairs(changed) do
    local view = jdraft(x[2], x[3])
    out[i] = with_places(view)
    views[2 * i - 1] = x[1]
    views[2 * i] = view
  end
  if #views > 0 then call_each_chunk('HSET', K.view, views, 2 * CHUNK) end
  redis.call('HSET', K.meta, 'seq', SEQ)
  return out, changed
end

-- Input validation ---------------------------------------------------------------------------

local INTENTS = { order = true, cancel = true, none = true }
local STATUSES = { matched = true, needs_variant = true, unknown_code = true }

local function is_int(v) return type(v) == 'number' and v == math.floor(v) end
local function is_text(v) return type(v) == 'string' and v ~= '' end
-- Codes and attributes go into keys built with US and RS.
local function is_word(v) return is_text(v) and not string.find(v, '[%z\1-\31]') end

local function item_problem(it)
  if type(it) ~= 'table' then return 'an item is not an array' end
  if not is_word(it[1]) then return 'an item code is empty or has control characters' end
  -- up to MAX_COUNT (1e9), as orders/events.py: doubles stay exact and '%d' stays in range
  if not is_int(it[2]) or it[2] < 1 or it[2] > 1000000000 then
    return 'an item quantity is not a positive integer up to 1e9'
  end
  if type(it[3]) ~= 'table' then return 'item attributes are not an object' end
  for k, v in pairs(it[3]) do
    if not is_word(k) or not is_word(v) then return 'item attributes are not plain text' end
  end
  if not STATUSES[it[4]] then return 'an item status is unknown' end
end

local function event_problem(e)
  if type(e) ~= 'table' then return 'not an array' end
  if not is_text(e[1]) then return 'no comment id' end
  if not is_int(e[2]) then return 'offset is not an integer' end
  if e[3] ~= NULL and not is_text(e[3]) then return 'user id is empty' end
  if type(e[4]) ~= 'string' then return 'user name is not text' end
  if not is_text(e[5]) then return 'no created_at' end
  if not INTENTS[e[6]] then return 'unknown intent' end
  if e[7] ~= NULL and type(e[7]) ~= 'string' then return 'phone is not text' end
  if type(e[8]) ~= 'table' then return 'items are not an array' end
  if type(e[9]) ~= 'string' then return 'platform is not text' end
  if not is_int(e[10]) or e[10] < 0 then return 'partition is not a natural number' end
  for _, it in ipairs(e[8]) do
    local problem = item_problem(it)
    if problem then return problem end
  end
end

local function decode_json(raw, what)
  local ok, v = pcall(dec, raw or '')
  if not ok or type(v) ~= 'table' then fail(what .. ' is not a JSON array') end
  return v
end

local function outdated(meta_key, layout)
  fail('the livestream\'s state ' .. meta_key .. ' is of layout ' .. (layout or '1')
    .. ', this chotdon reads layout ' .. LAYOUT .. ': run `chotdon migrate`')
end

local function load_meta(meta_key)
  local m = redis.call('HMGET', meta_key, 'seq', 'open', 'repeat', 'shop', 'live', 'layout')
  if not m[1] then fail('livestream not registered: ' .. meta_key) end
  if tonumber(m[6]) ~= LAYOUT then outdated(meta_key, m[6]) end
  SEQ, REPEAT, SHOP_J, LIVE_J = tonumber(m[1]), m[3], enc(m[4]), enc(m[5])
  return m[2] == '1'
end

-- Offsets are per Kafka partition, and more partitions move a livestream's key to a partition
-- whose offsets start again at 0: one watermark per partition.
local function watermarks(events)
  local wms, names, parts = {}, {}, {}
  for _, e in ipairs(events) do
    if not wms[e[10]] then
      wms[e[10]] = true
      parts[#parts + 1] = e[10]
      names[#names + 1] = 'wm.' .. e[10]
    end
  end
  local raw = redis.call('HMGET', K.meta, unpack(names))
  for i, p in ipairs(parts) do wms[p] = tonumber(raw[i]) or -1 end
  return wms, parts
end

-- A caller that knows where the store was (the intake: what it applied itself, or read at
-- its partitions' assignment) says so; a store behind that lost writes (a restart from an
-- fsync-everysec AOF, a failover to a lagging replica). Applying on top would skip the lost
-- records for good, so the whole call is refused and the caller seeks back.
local function check_expected(wms, raw)
  if raw == nil or raw == '' then return end
  local ok, expect = pcall(dec, raw)
  if not ok or type(expect) ~= 'table' then fail('expected watermarks are not a JSON object') end
  for key, want in pairs(expect) do
    local p = tonumber(key)
    if not p or not is_int(want) then fail('expected watermarks are not partition: offset') end
    local have = wms[p]
    if have == nil then have = tonumber(redis.call('HGET', K.meta, 'wm.' .. key)) or -1 end
    if have < want then
      fail('watermark went back: partition ' .. key .. ' is at ' .. FMT('%d', have)
        .. ', expected at least ' .. FMT('%d', want))
    end
  end
end

-- [partition, watermark, ...] after the call, for the partitions of the batch.
local function marks_of(wms, parts)
  local out = {}
  for _, p in ipairs(parts) do
    out[#out + 1] = p
    out[#out + 1] = wms[p]
  end
  return out
end

-- chotdon_apply --------------------------------------------------------------------------

local function distinct_users_and_codes(live, fresh)
  local users, codes, su, sc = {}, {}, {}, {}
  for i, e in ipairs(live) do
    local user = e[3]
    if fresh[i] == 0 and user ~= NULL then
      if not su[user] then su[user], users[#users + 1] = true, user end
      for _, it in ipairs(e[8]) do
        if not sc[it[1]] then sc[it[1]], codes[#codes + 1] = true, it[1] end
      end
    end
  end
  return users, codes
end

-- What to publish again for records at or below their partition's watermark: a redelivery
-- after a worker died between this call and the publishing of its draft events. Every draft
-- changed by a batch that reached the first redelivered offset goes out again (its current
-- state), so no event is lost, however it changed: the customer's own comment, another's
-- cancel that served it, the queue moving up.
local RECENT_SPAN = 100000 -- offsets of history kept per partition: far more than a commit lag

local function redelivered_views(first_again)
  local seqs, taken = {}, {}
  for _, x in pairs(CHANGED) do taken[x.seq] = true end
  for p, first in pairs(first_again) do
    for _, seq in ipairs(redis.call('ZRANGEBYSCORE', K.recent .. p, first, '+inf')) do
      if not taken[seq] then
        taken[seq] = true
        seqs[#seqs + 1] = seq
      end
    end
  end
  if #seqs == 0 then return {} end
  table.sort(seqs, function(a, b) return tonumber(a) < tonumber(b) end)
  local views = read_many('HMGET', K.view, seqs)
  local out = {}
  for _, v in ipairs(views) do
    if v then out[#out + 1] = with_places(v) end
  end
  return out
end

local function remember_changes(last_offsets)
  local members = {}
  for _, d in pairs(CHANGED) do members[#members + 1] = d.seq end
  if #members == 0 then return end
  for p, offset in pairs(last_offsets) do
    local key = K.recent .. p
    local args = {}
    for _, seq in ipairs(members) do
      args[#args + 1] = offset
      args[#args + 1] = seq
    end
    call_each_chunk('ZADD', key, args, 2 * CHUNK)
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. FMT('%d', offset - RECENT_SPAN))
  end
end

local function apply(keys, args)
  reset(keys[1])
  local open = load_meta(keys[1])
  local seq_before = SEQ
  local events = decode_json(args[1], 'ARGV[1]')
  for i, e in ipairs(events) do
    local problem = event_problem(e)
    if problem then fail('bad event ' .. i .. ': ' .. problem) end
  end
  local wms, parts = watermarks(events)
  check_expected(wms, args[2])
  local live, first_again, last_offsets = {}, {}, {}
  for _, e in ipairs(events) do
    local p, offset = e[10], e[2]
    if offset > wms[p] then
      wms[p] = offset
      last_offsets[p] = offset
      live[#live + 1] = e
    elseif not first_again[p] or offset < first_again[p] then
      first_again[p] = offset
    end
  end
  if #live == 0 then return { {}, redelivered_views(first_again), 0, marks_of(wms, parts) } end
  local ids = {}
  for i, e in ipairs(live) do ids[i] = e[1] end
  local fresh = read_many('SMISMEMBER', K.seen, ids) -- 0: not seen before this call
  local users, codes = distinct_users_and_codes(live, fresh)
  prefetch(USERS, K.users, users)
  prefetch(PROD, K.products, codes)
  local now_seen, new_ids, unattr = {}, {}, {}
  for i, e in ipairs(live) do
    local cid = e[1]
    if fresh[i] == 0 and not now_seen[cid] then
      now_seen[cid] = true
      new_ids[#new_ids + 1] = cid
      local user = e[3]
      if user == NULL then
        unattr[#unattr + 1] = junattributed(e)
      else
        local c = customer_facts(user, e, open)
        if open and e[6] == 'order' and #e[8] > 0 then
          order(user, c, e)
        elseif open and e[6] == 'cancel' then
          cancel(user, c, e)
        end
      end
    end
  end
  local out = finish()
  if #new_ids > 0 then call_each_chunk('SADD', K.seen, new_ids, CHUNK) end
  if #unattr > 0 then call_each_chunk('RPUSH', K.unattr, unattr, CHUNK) end
  local marks = {}
  for _, p in ipairs(parts) do
    marks[#marks + 1] = 'wm.' .. p
    marks[#marks + 1] = FMT('%d', wms[p])
  end
  redis.call('HSET', K.meta, unpack(marks))
  remember_changes(last_offsets)
  return { out, redelivered_views(first_again), SEQ - seq_before, marks_of(wms, parts) }
end

-- chotdon_command ------------------------------------------------------------------------
-- A staff command on one livestream draft, addressed by seq; orders/book.py OrderBook.command is
-- the reference. The caller (the command agent) has validated what only it knows (staff,
-- phone, province, the finalise rules, read on the view it sends back as `expect`).

local OPS = { set_customer = true, pick_product = true, choose_variant = true,
  set_quantity = true, remove_line = true, add_line = true, add_custom_line = true,
  assign = true, finalise = true }
local LINE_OPS = { pick_product = true, choose_variant = true, set_quantity = true,
  remove_line = true }
local ACTIONS = { create = true, deliver_now = true, send_to_store = true, save = true,
  cancel = true }
local CREATING = { create = true, deliver_now = true, send_to_store = true }
local CONTACT_SET = { name = true, phone = true, address = true, ward = true, province = true,
  note = true }
local MAX_COUNT, MAX_PRICE = 1000000000, 1000000000000

local function is_count(v) return is_int(v) and v >= 1 and v <= MAX_COUNT end

local function attrs_problem(a)
  if type(a) ~= 'table' then return 'attributes are not an object' end
  for k, v in pairs(a) do
    if not is_word(k) or not is_word(v) then return 'attributes are not plain text' end
  end
end

local function op_fields_problem(t, op)
  if LINE_OPS[t] and not is_count(op.line) then return 'line is not a positive integer' end
  if (t == 'pick_product' or t == 'add_line') and not is_word(op.code) then
    return 'code is empty or has control characters'
  end
  if t == 'pick_product' or t == 'choose_variant' or t == 'add_line' then
    local problem = attrs_problem(op.attributes)
    if problem then return problem end
  end
  if (t == 'set_quantity' or t == 'add_line' or t == 'add_custom_line')
      and not is_count(op.qty) then
    return 'qty is not a positive integer'
  end
  if t == 'set_customer' then
    if type(op.contact) ~= 'table' then return 'contact is not an object' end
    for k, v in pairs(op.contact) do
      if not CONTACT_SET[k] or (v ~= NULL and type(v) ~= 'string') then
        return 'contact is not an object of contact fields (text or null)'
      end
    end
  elseif t == 'add_custom_line' then
    if not is_text(op.name) then return 'name is empty' end
    if not is_int(op.price) or op.price < 0 or op.price > MAX_PRICE then
      return 'price is not a natural number'
    end
  elseif t == 'assign' then
    if op.assignee ~= nil and op.assignee ~= NULL and not is_text(op.assignee) then
      return 'assignee is empty'
    end
  elseif t == 'finalise' then
    if not ACTIONS[op.action] then return 'unknown action' end
    if type(op.expect) ~= 'string' then return 'expect is not text' end
    if CREATING[op.action] and not is_text(op.order_id) then return 'no order_id' end
    if op.order_id ~= nil and op.order_id ~= NULL and type(op.order_id) ~= 'string' then
      return 'order_id is not text'
    end
  end
end

local function op_problem(op)
  if type(op) ~= 'table' then return 'the op is not an object' end
  if not OPS[op.type] then return 'unknown type' end
  if not is_count(op.seq) then return 'seq is not a positive integer' end
  if not is_text(op.at) then return 'no at' end
  if not is_text(op.staff) then return 'no staff' end
  if op.expect ~= nil and op.expect ~= NULL and type(op.expect) ~= 'string' then
    return 'expect is not text'
  end
  return op_fields_problem(op.type, op)
end

-- A reason is {code, field or false, {{name, value}, ...}}; rendered by hand, as cjson would
-- write an empty list as {}.
local function jreasons(reasons)
  local out = {}
  for i, r in ipairs(reasons) do
    local params = {}
    for j, kv in ipairs(r[3]) do
      local v = kv[2]
      params[j] = enc(kv[1]) .. ':' .. (type(v) == 'number' and jint(v) or enc(v))
    end
    out[i] = '[' .. enc(r[1]) .. ',' .. (r[2] and enc(r[2]) or 'null') .. ',{'
      .. table.concat(params, ',') .. '}]'
  end
  return '[' .. table.concat(out, ',') .. ']'
end

-- The draft numbered seq: its view and status, and when it is its customer's current draft, the
-- user id, the user record and the draft. A number whose customer has a newer draft is a
-- finalised one.
local function draft_by_seq(seq)
  local view = redis.call('HGET', K.view, jint(seq))
  if not view then return nil end
  local v = dec(view)
  local user = v.customer.user_id
  local c = user_record(user)
  if c and c.d and c.d.seq == seq then return view, c.d.st, user, c, c.d end
  if v.status == 'open' then
    -- an open draft is always its customer's current one: the state is not this version's
    fail('draft ' .. jint(seq) .. ' is open but not its customer\'s current draft: the '
      .. 'livestream\'s state predates this version of chotdon or is damaged')
  end
  return view, v.status
end

-- (name RS value US)* of a merge key back to a table.
local function key_attrs(key)
  local attrs = {}
  local rest = string.match(key, '^[^\31]*\31[^\31]*\31(.*)$') or ''
  for k, v in string.gmatch(rest, '([^\30\31]*)\30([^\30\31]*)\31') do attrs[k] = v end
  return attrs
end

local function line_kind(l)
  if not l[CODE] then return 'custom' end
  if l[PRICE] < 0 then return 'unknown_code' end
  return 'known'
end

-- Appends a reason for every fault of code and attrs against the catalogue.
local function product_problems(reasons, code, attrs, field)
  local p = product(code)
  if not p then
    reasons[#reasons + 1] = { 'unknown_product', field, { { 'code', code } } }
    return
  end
  local names = {}
  for k in pairs(attrs) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    local at
    for i, a in ipairs(p.a) do
      if a == k then at = i end
    end
    if not at then
      reasons[#reasons + 1] = { 'unknown_attribute', 'attributes',
        { { 'code', code }, { 'attribute', k } } }
    elseif p.v then -- a record registered before values were kept: names only
      local ok = false
      for _, v in ipairs(p.v[at]) do
        if v == attrs[k] then ok = true end
      end
      if not ok then
        reasons[#reasons + 1] = { 'unknown_attribute_value', 'attributes',
          { { 'code', code }, { 'attribute', k }, { 'value', attrs[k] } } }
      end
    end
  end
end

-- Every reason to refuse, once the draft is found and open; {} to apply.
local function command_problems(d, op)
  local t, reasons = op.type, {}
  if t == 'add_line' then
    product_problems(reasons, op.code, op.attributes, 'code')
    return reasons
  end
  if not LINE_OPS[t] then return reasons end
  local l = d.L[op.line]
  local at_line = { { 'line', op.line } }
  if not l then return { { 'line_not_found', 'line', at_line } } end
  local kind = line_kind(l)
  if t == 'pick_product' then
    if kind == 'custom' then
      reasons[1] = { 'custom_line', 'line', at_line }
    elseif kind ~= 'unknown_code' then
      reasons[1] = { 'not_unknown_code_line', 'line', at_line }
    end
    product_problems(reasons, op.code, op.attributes, 'code')
  elseif t == 'choose_variant' then
    if kind == 'custom' then return { { 'custom_line', 'line', at_line } } end
    if kind == 'unknown_code' then return { { 'not_needs_variant_line', 'line', at_line } } end
    product_problems(reasons, l[CODE], op.attributes, 'line')
  elseif t == 'set_quantity' and kind == 'known' and op.qty > l[QTY]
      and not product(l[CODE]) then
    -- more units are a stock request: a product out of the catalogue takes none
    reasons[1] = { 'unknown_product', 'line', { { 'code', l[CODE] } } }
  end
  return reasons
end

-- An unknown-code line becomes a catalogue line in its place; the typed code stays visible in
-- the history. The new line requests its units like a comment's item.
local function pick_product(user, d, op)
  local i, code, attrs = op.line, op.code, op.attributes
  local old, p = d.L[i], product(code)
  local status = line_status({ code, old[QTY], attrs, 'matched' }, p)
  local l = { d.nl, 'k' .. US .. code .. US .. attrs_key(attrs), code, old[QTY], 0, {}, p.p,
    jfixed(code, p.n, attrs, status, p.p), old[CIDS], old[LAST] }
  d.nl = d.nl + 1
  d.L[i] = l
  to_history(d, old)
  request(user, l, p, code, l[QTY])
end

-- Merged into the line's attributes; its reservation stays; no merge with an equal line.
local function choose_variant(l, attrs)
  local code = l[CODE]
  local merged, changed = key_attrs(l[KEY]), false
  for k, v in pairs(attrs) do
    if merged[k] ~= v then merged[k], changed = v, true end
  end
  local status = line_status({ code, 0, merged, 'matched' }, product(code))
  if not changed and status == string.match(l[FIXED], ',"status":"([%a_]+)"') then
    return false
  end
  l[KEY] = 'k' .. US .. code .. US .. attrs_key(merged)
  local head = string.sub(l[FIXED], 1, string.find(l[FIXED], ',"attributes":', 1, true) - 1)
  l[FIXED] = head .. ',"attributes":' .. jattrs(merged) .. ',"status":"' .. status
    .. '","unit_price":' .. jint(l[PRICE]) .. ','
  return true
end

-- Fewer units: waiting units go first (the line's latest requests), then reserved ones, which
-- serve the head of the queue like a cancel's release.
local function reduce(user, l, units, t)
  local code = l[CODE]
  local waiting = l[QTY] - l[RES]
  local drop = math.min(units, waiting)
  l[QTY] = l[QTY] - units
  local w, left = l[W], drop
  while left > 0 do
    local r = w[#w]
    local take = math.min(left, r[2])
    r[2], left = r[2] - take, left - take
    if r[2] == 0 then
      redis.call('ZREM', K.q .. code, member(r[1], l[ID], user))
      w[#w] = nil
    end
  end
  local rest = units - drop
  if rest > 0 then
    l[RES] = l[RES] - rest
    set_held(code, held(code) - rest)
    serve(code, t)
  end
end

local function set_quantity(user, l, qty, t)
  if qty == l[QTY] then return false end
  local kind = line_kind(l)
  if kind == 'custom' then
    l[QTY], l[RES] = qty, qty
  elseif kind == 'unknown_code' then
    l[QTY] = qty
  elseif qty > l[QTY] then
    local units = qty - l[QTY]
    l[QTY] = qty
    request(user, l, product(l[CODE]), l[CODE], units)
  else
    reduce(user, l, l[QTY] - qty, t)
  end
  return true
end

local function finalise(user, c, d, op, t)
  local action = op.action
  if action == 'save' then
    if d.ac == 'save' then return false end
    d.ac = 'save'
    return true
  end
  c.rep = nil -- a repeat of the last order is a new order now
  if action == 'cancel' then
    release(user, d.L, t)
    d.st = 'cancelled'
  else
    -- Sold: reserved units stay held for good; units still waiting leave the queues.
    for _, l in ipairs(d.L) do
      if line_kind(l) == 'known' then qremove(l[CODE], user, l) end
    end
    d.st, d.oid, d.fa, d.fb = 'finalised', op.order_id, t, op.staff
  end
  d.ac = action
  return true
end

-- Carries out a checked op; true when the draft's own content changed.
local function act(user, c, d, op, t)
  local kind = op.type
  if kind == 'set_customer' then
    local ct, changed = d.ct or {}, false
    for k, v in pairs(op.contact) do
      if v == NULL then v = nil end
      if ct[k] ~= v then ct[k], changed = v, true end
    end
    d.ct = next(ct) and ct or nil
    return changed
  elseif kind == 'pick_product' then
    pick_product(user, d, op)
  elseif kind == 'choose_variant' then
    return choose_variant(d.L[op.line], op.attributes)
  elseif kind == 'set_quantity' then
    return set_quantity(user, d.L[op.line], op.qty, t)
  elseif kind == 'remove_line' then
    local l = d.L[op.line]
    release(user, { l }, t)
    table.remove(d.L, op.line)
    to_history(d, l)
  elseif kind == 'add_line' then
    add_item(user, d, { op.code, op.qty, op.attributes, 'matched' }, nil)
  elseif kind == 'add_custom_line' then
    d.L[#d.L + 1] = { d.nl, 'c' .. US .. jint(d.nl), false, op.qty, op.qty, {}, op.price,
      jfixed(nil, op.name, {}, 'custom', op.price), '', '' }
    d.nl = d.nl + 1
  elseif kind == 'assign' then
    local a = op.assignee
    if a == NULL then a = nil end
    if d.sf == a then return false end
    d.sf = a
  else
    return finalise(user, c, d, op, t)
  end
  return true
end

local function remember(cid, status, seq, reasons_json)
  redis.call('HSET', K.cmds, cid, status .. US .. (seq and jint(seq) or '') .. US .. reasons_json)
end

local function command(keys, args)
  reset(keys[1])
  load_meta(keys[1])
  local cid = args[1]
  if not is_text(cid) then fail('bad command: no command id') end
  local ok, op = pcall(dec, args[2] or '')
  if not ok then fail('bad command ' .. cid .. ': the op is not JSON') end
  local problem = op_problem(op)
  if problem then fail('bad command ' .. cid .. ': ' .. problem) end
  local stored = redis.call('HGET', K.cmds, cid)
  if stored then
    local status, seq, reasons = string.match(stored, '^([^\31]*)\31([^\31]*)\31(.*)$')
    local view = seq ~= '' and redis.call('HGET', K.view, seq) or false
    return { status, reasons, view and with_places(view), {}, 1 }
  end
  local seq = op.seq
  local view, status, user, c, d = draft_by_seq(seq)
  local reasons
  if not view then
    reasons = jreasons({ { 'draft_not_found', 'seq', { { 'seq', seq } } } })
    remember(cid, 'refused', nil, reasons)
    return { 'refused', reasons, false, {}, 0 }
  end
  if status ~= 'open' then
    reasons = jreasons({ { 'draft_not_open', false, { { 'status', status } } } })
    remember(cid, 'refused', seq, reasons)
    return { 'refused', reasons, with_places(view), {}, 0 }
  end
  -- `expect` (required by finalise, optional for the rest): the draft exactly as the caller
  -- checked it, places counted now (DraftStore.draft_raw); anything else is stale, and
  -- nothing is done or kept.
  if op.expect ~= nil and op.expect ~= NULL and op.expect ~= resolve_view(view) then
    return { 'stale', '[]', with_places(view), {}, 0 }
  end
  local problems = command_problems(d, op)
  if #problems > 0 then
    reasons = jreasons(problems)
    remember(cid, 'refused', seq, reasons)
    return { 'refused', reasons, with_places(view), {}, 0 }
  end
  local t = op.at
  if act(user, c, d, op, t) then touch(user, d, t) end
  local out, changed = finish()
  local others, shown = {}, nil
  for i, x in ipairs(changed) do
    if x[2] == user then
      shown = out[i]
    else
      others[#others + 1] = out[i]
    end
  end
  remember(cid, 'applied', seq, '[]')
  return { 'applied', '[]', shown or with_places(view), others, 0 }
end

-- chotdon_register -----------------------------------------------------------------------

local function product_problem(p)
  if type(p) ~= 'table' then return 'not an object' end
  if not is_text(p.code) then return 'no code' end
  -- a code is written into the waitlist marker of P:view as is
  if not is_word(p.code) or string.find(p.code, '["\\]') then
    return 'the code holds a quote, a backslash or a control character'
  end
  if not is_text(p.name) then return 'no name' end
  if not is_int(p.price) or p.price < 0 then return 'price is not a non-negative integer' end
  if p.stock ~= NULL and (not is_int(p.stock) or p.stock < 0) then return 'bad stock' end
  if type(p.attributes) ~= 'table' then return 'attributes are not an array' end
  for _, a in ipairs(p.attributes) do
    if not is_text(a) then return 'an attribute name is not text' end
  end
  if type(p.values) ~= 'table' or #p.values ~= #p.attributes then
    return 'values are not an array of value lists, one per attribute'
  end
  for _, vs in ipairs(p.values) do
    if type(vs) ~= 'table' then return 'values are not an array of value lists' end
    for _, v in ipairs(vs) do
      if not is_text(v) then return 'an attribute value is not text' end
    end
  end
end

local function register(keys, args)
  reset(keys[1])
  local shop, live, products_json, rep, config = args[1], args[2], args[3], args[4], args[5]
  if not is_text(shop) or not is_text(live) then fail('shop and livestream ids are required') end
  if rep ~= 'ignore' and rep ~= 'add' then fail('repeat must be ignore or add') end
  if type(config) ~= 'string' then fail('the shop configuration is required') end
  local products = decode_json(products_json, 'the product list')
  for i, p in ipairs(products) do
    local problem = product_problem(p)
    if problem then fail('bad product ' .. i .. ': ' .. problem) end
  end
  local fp = redis.sha1hex(products_json .. '\n' .. rep .. '\n' .. config)
  local cur = redis.call('HMGET', K.meta, 'fp', 'ver', 'shop', 'live', 'layout')
  if cur[3] and (cur[3] ~= shop or cur[4] ~= live) then
    fail('the meta key belongs to another livestream')
  end
  if cur[2] and tonumber(cur[5]) ~= LAYOUT then outdated(K.meta, cur[5]) end
  if cur[1] == fp then return {} end
  if cur[2] then
    redis.call('HSET', K.meta, 'ver', tonumber(cur[2]) + 1)
  else
    redis.call('HSET', K.meta, 'shop', shop, 'live', live, 'seq', 0, 'open', 1, 'ver', 1,
      'layout', LAYOUT)
  end
  redis.call('HSET', K.meta, 'repeat', rep, 'config', config, 'fp', fp)
  load_meta(K.meta)
  redis.call('DEL', K.products)
  local fields = {}
  for _, p in ipairs(products) do
    local rec = { n = p.name, p = p.price, s = p.stock == NULL and -1 or p.stock, a = p.attributes,
      v = p.values }
    PROD[p.code] = rec
    fields[#fields + 1] = p.code
    fields[#fields + 1] = pack(rec)
  end
  if #fields > 0 then call_each_chunk('HSET', K.products, fields, 2 * CHUNK) end
  -- More stock (or a product back in the catalogue) serves its waiting customers at once.
  for _, p in ipairs(products) do serve(p.code, nil) end
  return finish()
end

-- chotdon_stop, chotdon_customers ---------------------------------------------------------

-- A stopped livestream's keys all expire at one moment, `until` in P:meta (unix seconds, set
-- by the first stop that gives one): every key a later call creates or keeps gets the same
-- deadline, so a finished livestream goes whole, never a part of it.
local function retain()
  local deadline = tonumber(redis.call('HGET', K.meta, 'until') or '')
  if not deadline then return end
  local keys = { K.meta, K.products, K.held, K.tickets, K.users, K.view, K.seen, K.unattr,
    K.cmds }
  local codes = {}
  for _, hash in ipairs({ K.products, K.held, K.tickets }) do
    for _, code in ipairs(redis.call('HKEYS', hash)) do codes[code] = true end
  end
  for code in pairs(codes) do keys[#keys + 1] = K.q .. code end
  for _, name in ipairs(redis.call('HKEYS', K.meta)) do
    if string.sub(name, 1, 3) == 'wm.' then keys[#keys + 1] = K.recent .. string.sub(name, 4) end
  end
  for _, key in ipairs(keys) do redis.call('EXPIREAT', key, deadline) end
end

local function retained(fn)
  return function(keys, args)
    local out = fn(keys, args)
    retain()
    return out
  end
end

local function stop(keys, args)
  reset(keys[1])
  if redis.call('EXISTS', K.meta) == 0 then return 0 end
  redis.call('HSET', K.meta, 'open', 0)
  local deadline = args[1]
  if deadline and deadline ~= '' then
    if not tonumber(deadline) then fail('the retention deadline is not a number') end
    redis.call('HSETNX', K.meta, 'until', deadline)
  end
  retain()
  return 1
end

local function customers(keys)
  reset(keys[1])
  local flat = redis.call('HGETALL', K.users)
  local parts = {}
  for i = 1, #flat, 2 do
    local c = unpack_mp(flat[i + 1])
    parts[#parts + 1] = enc(flat[i]) .. ':{"platform":' .. enc(c.p) .. ',"user_id":'
      .. enc(flat[i]) .. ',"name":' .. jtext(c.n) .. ',"phone":' .. jtext(c.ph) .. '}'
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

-- chotdon_view, chotdon_queues: reads that need the places counted -----------------------

local function view(keys, args)
  reset(keys[1])
  local raw = redis.call('HGET', K.view, args[1] or '')
  return raw and resolve_view(raw) or false
end

-- {code: [[units, line id, user id], ...] head first}, from the queues and the lines' requests.
local function queues(keys)
  reset(keys[1])
  local parts = {}
  for _, code in ipairs(redis.call('HKEYS', K.tickets)) do
    local entries = {}
    for _, m in ipairs(redis.call('ZRANGE', K.q .. code, 0, -1)) do
      local ticket, lid, user = string.match(m, '^(%d+):(%d+):(.*)$')
      local units
      for _, r in ipairs(find_line(user_record(user).d, tonumber(lid))[W]) do
        if r[1] == tonumber(ticket) then units = r[2] end
      end
      if not units then fail('corrupt state: queue ' .. code .. ' names a request its line lacks') end
      entries[#entries + 1] = '[' .. jint(units) .. ',' .. lid .. ',' .. enc(user) .. ']'
    end
    if #entries > 0 then parts[#parts + 1] = enc(code) .. ':[' .. table.concat(entries, ',') .. ']' end
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

-- chotdon_migrate: a livestream's state of layout 1 to LAYOUT ----------------------------
-- Layout 1 kept each queue as a list "<units>:<line id>:<user id>" and a line's place (a
-- number) in its slot W, and rendered places into P:view. Each request becomes a ticket in
-- its queue's order (so the places stay what they were), each line gets its requests, every
-- current draft's view is rendered again. Idempotent: a livestream of LAYOUT answers 0.

local function migrate(keys)
  reset(keys[1])
  local m = redis.call('HMGET', K.meta, 'seq', 'layout', 'shop', 'live')
  if not m[1] then fail('livestream not registered: ' .. K.meta) end
  if tonumber(m[2]) == LAYOUT then return 0 end
  SEQ, SHOP_J, LIVE_J = tonumber(m[1]), enc(m[3]), enc(m[4])
  local flat = redis.call('HGETALL', K.users)
  for i = 1, #flat, 2 do
    local c = unpack_mp(flat[i + 1])
    USERS[flat[i]] = c
    if c.d then
      for _, l in ipairs(c.d.L) do l[W] = {} end
    end
  end
  local codes = redis.call('HKEYS', K.products)
  for _, code in ipairs(redis.call('HKEYS', K.held)) do codes[#codes + 1] = code end
  local done = {}
  for _, code in ipairs(codes) do
    local key = K.q .. code
    if not done[code] and redis.call('TYPE', key).ok == 'list' then
      done[code] = true
      local entries = redis.call('LRANGE', key, 0, -1)
      redis.call('DEL', key)
      local args = {}
      for n, raw in ipairs(entries) do
        local units, lid, user = string.match(raw, '^(%d+):(%d+):(.*)$')
        local l = find_line(USERS[user].d, tonumber(lid))
        l[W][#l[W] + 1] = { n, tonumber(units) }
        args[#args + 1] = n
        args[#args + 1] = member(n, tonumber(lid), user)
      end
      if #args > 0 then call_each_chunk('ZADD', key, args, 2 * CHUNK) end
      TICKETS[code] = #entries
    end
  end
  for user, c in pairs(USERS) do
    DIRTY[user] = true
    if c.d then CHANGED[user] = c.d end
  end
  finish()
  redis.call('HSET', K.meta, 'layout', LAYOUT)
  return 1
end

redis.register_function('chotdon_apply', retained(apply))
redis.register_function('chotdon_command', retained(command))
redis.register_function('chotdon_register', retained(register))
redis.register_function('chotdon_stop', stop)
redis.register_function { function_name = 'chotdon_customers', callback = customers,
  flags = { 'no-writes' } }
redis.register_function { function_name = 'chotdon_view', callback = view,
  flags = { 'no-writes' } }
redis.register_function { function_name = 'chotdon_queues', callback = queues,
  flags = { 'no-writes' } }
redis.register_function('chotdon_migrate', migrate)
