-- Rate-limit counters (see store/limits.go). Each limit is a sliding-window
-- counter kept as one row per fixed window: the estimate at a moment is the
-- previous window's hits, weighted by how much of it still overlaps the last
-- window length, plus the current window's hits. A hit is checked and
-- counted by one INSERT ... ON CONFLICT DO UPDATE ... WHERE, which takes the
-- row lock, so concurrent hits serialize on the row.
--
-- key is opaque: callers pass keyed hashes of destinations, never the
-- destinations themselves. window_ms is part of the key so two limits of
-- one scope with different window lengths never share a row.
create table rate_limits (
    scope         text collate "C" not null,
    key           text collate "C" not null,
    window_ms     bigint not null check (window_ms > 0),
    window_start  timestamptz not null,
    hits          integer not null check (hits >= 0),
    -- When the row stops counting: the end of the window after this one.
    expires_at    timestamptz not null,
    primary key (scope, key, window_ms, window_start)
) with (fillfactor = 80); -- room for HOT updates: hits is not indexed

create index rate_limits_expires on rate_limits (expires_at);
