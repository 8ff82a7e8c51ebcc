-- wrk script of bench/run.py for the create/delete pair:
--
--   wrk ... URL -- COLLECTION_PATH BODY_FILE
--
-- Each answered POST queues the created id (`connection_id`, else `id`); the next request this thread
-- sends is the DELETE of a queued id if there is one, else a new POST of BODY_FILE. Pairs stay balanced;
-- at most one POST per connection is left undeleted when the run ends. Headers come from wrk's -H.

local here = string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "./"
dofile(here .. "report.lua")

local collection = nil
local body = nil
local pending = {}

function init(args)
   collection = args[1]
   local file = assert(io.open(args[2], "rb"))
   body = file:read("*a")
   file:close()
end

function request()
   local id = table.remove(pending)
   if id then
      return wrk.format("DELETE", collection .. "/" .. id, nil, nil)
   end
   return wrk.format("POST", collection, nil, body)
end

function response(status, headers, payload)
   if status == 201 or status == 200 then
      local id = string.match(payload, '"connection_id":"([^"]+)"') or string.match(payload, '"id":"([^"]+)"')
      if id then
         table.insert(pending, id)
      end
   end
end
