#!lua name=chotdon_shop
--[[
chotdon shop store: an order put in two round trips, the rules staying in Python.

ShopStore.put_order decides with the pure rules of orders/shop/customers.py and order.py, as
every shop transaction does (orders/shop/store/transaction.py); this library only reads what
that decision reads, in one call, and commits the decision's writes in another, atomically and
only if nothing it read has changed since (an optimistic transaction compared by value, not by
WATCH). No rule lives here: a read this library did not foresee makes the Python side fall back
to the WATCH transaction, so a mismatch costs round trips, never a wrong order.

  S = chotdon:{<shop>} (orders/shop/store/__init__.py has the keys)
  FCALL chotdon_put_order 1 S:layout <order id> <command id> <lookup fields JSON [...]>
        <customer id or ''> <read the configuration: 1|0> <customer id held or ''>
        <digest or ''> [<argc> <command> <arg>...]...

The read, in this order, each key once (a value false when absent): S:layout (anything but 2
ends it: the transaction path checks layouts); S:orders:<order id> (present: the order exists,
nothing more is read); S:config when asked; S:cmd:<command id>; S:cidx:<field> of each lookup
field (all of them); then the candidates, the customer id given and the owner of the first
lookup field that has one (customers.find_customer): S:customers:<id> of each, and of each record found the
orders it lists (S:orders:<id>) and its index fields (S:cidx:<platform id>,
S:cidx:phone:<phone>: customers.customer_fields).

The digest is the SHA1 of every key read and its value. With the digest of the current state
and writes, the writes run and the answer is {'done'}; otherwise (no digest: a plain read) the
answer is {'read', digest, customer id held, [keys], [values]}. When the order is absent and
no candidate record exists, the order makes a new customer: a number is taken from
S:counters' `customer` (HINCRBY) unless the caller holds one from an earlier answer; a decision
that ends up not needing it leaves a number unused, as the transaction path does.
Writes are SET, SADD, HSET, HDEL or DEL of a key of S, or SET <key> <value> EX <seconds>.
]]

local dec -- cjson is bound on the first call (Redis 7.0 runs the top level without it)
local WRITES = { SET = true, SADD = true, HSET = true, HDEL = true, DEL = true }

local function fail(msg)
  error({ err = 'ERR chotdon: ' .. msg })
end

local function prefix_of(layout_key)
  if type(layout_key) ~= 'string' or string.sub(layout_key, 1, 9) ~= 'chotdon:{'
      or string.sub(layout_key, -8) ~= '}:layout' then
    fail('KEYS[1] must be chotdon:{<shop>}:layout')
  end
  return string.sub(layout_key, 1, -7) -- chotdon:{<shop>}:
end

-- Everything the Python decision reads, as parallel lists of keys and values.
local function snapshot(s, order_id, command_id, fields, hint, with_config)
  local seen, keys, values = {}, {}, {}
  local function get(key)
    if seen[key] == nil then
      local value = redis.call('GET', key)
      seen[key] = value
      keys[#keys + 1], values[#values + 1] = key, value
    end
    return seen[key]
  end
  if get(s .. 'layout') ~= '2' then return keys, values, false end
  if get(s .. 'orders:' .. order_id) then return keys, values, false end
  if with_config then get(s .. 'config') end
  get(s .. 'cmd:' .. command_id)
  local candidates, owned = {}, false
  if hint ~= '' then candidates[1] = hint end
  for _, field in ipairs(fields) do
    local owner = get(s .. 'cidx:' .. field)
    if owner and not owned then
      owned = true
      if owner ~= hint then candidates[#candidates + 1] = owner end
    end
  end
  local found = false
  for _, cid in ipairs(candidates) do
    local raw = get(s .. 'customers:' .. cid)
    if raw then
      found = true
      local customer = dec(raw)
      for _, oid in ipairs(customer.orders or {}) do get(s .. 'orders:' .. oid) end
      for _, account in ipairs(customer.platform_ids or {}) do get(s .. 'cidx:' .. account) end
      for _, phone in ipairs(customer.phones or {}) do get(s .. 'cidx:phone:' .. phone) end
    end
  end
  -- no candidate record: a new customer, unless the index names one whose record is gone
  -- (the Python side then decides as the transaction path does)
  return keys, values, not found and not owned
end

local function digest_of(keys, values)
  local parts = {}
  for i, key in ipairs(keys) do
    local value = values[i]
    parts[#parts + 1] = #key .. ':' .. key .. (value and (#value .. '=' .. value) or '-')
  end
  return redis.sha1hex(table.concat(parts, '\n'))
end

local function apply_writes(s, args, from)
  local i, n = from, #args
  while i <= n do
    local argc = tonumber(args[i])
    if not argc or argc < 2 or i + argc > n then fail('malformed writes') end
    local command = args[i + 1]
    local key = args[i + 2]
    if not WRITES[command] then fail('not a write this function makes: ' .. tostring(command)) end
    if string.sub(key, 1, #s) ~= s then fail('a key outside the shop: ' .. key) end
    redis.call(unpack(args, i + 1, i + argc))
    i = i + argc + 1
  end
end

local function put_order(keys, args)
  if not dec then dec = cjson.decode end
  local s = prefix_of(keys[1])
  local order_id, command_id, hint = args[1], args[2], args[4]
  local ok, fields = pcall(dec, args[3] or '')
  if not ok or type(fields) ~= 'table' then fail('the lookup fields are not a JSON array') end
  local held, digest = args[6] or '', args[7] or ''
  local read_keys, read_values, creates = snapshot(s, order_id, command_id, fields, hint,
    args[5] == '1')
  local current = digest_of(read_keys, read_values)
  if digest ~= '' and digest == current then
    apply_writes(s, args, 8)
    return { 'done' }
  end
  if creates and held == '' then
    held = 'C-' .. redis.call('HINCRBY', s .. 'counters', 'customer', 1)
  end
  return { 'read', current, held, read_keys, read_values }
end

redis.register_function('chotdon_put_order', put_order)
