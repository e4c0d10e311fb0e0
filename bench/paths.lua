-- wrk -s bench/paths.lua URL -- FILE: each request asks for the next path of FILE (one per
-- line, in turn), so that a run carries many tokens, as a point of presence sees them,
-- instead of one.
local paths, n = {}, 0

function init(args)
	for line in io.lines(args[1]) do
		paths[#paths + 1] = line
	end
	assert(#paths > 0, "no paths in " .. tostring(args[1]))
end

function request()
	n = n % #paths + 1
	return wrk.format(nil, paths[n])
end
