-- wrk script of bench/run.py for scenarios with several targets:
--
--   wrk ... URL -- TARGETS_FILE
--
-- Sends the paths of TARGETS_FILE (one per line) in turn, then reports like report.lua. Headers come from
-- wrk's -H.

local here = string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "./"
dofile(here .. "report.lua")

local targets = {}
local next_target = 0

function init(args)
   for line in io.lines(args[1]) do
      if line ~= "" then
         table.insert(targets, line)
      end
   end
end

function request()
   next_target = next_target % #targets + 1
   return wrk.format("GET", targets[next_target], nil, nil)
end
