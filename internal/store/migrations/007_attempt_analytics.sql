-- Attempt-level analytics (GET /v1/analytics/attempts).
--
-- country is the ISO 3166-1 alpha-2 region of the phone destination at
-- start (libphonenumber; "001" for non-geographic numbers), null without a
-- phone and for rows written before this migration: analytics report those
-- as "unknown". It never changes after the insert, so it does not stop the
-- projection's updates from being HOT.
alter table verifications add column country text
    check (country ~ '^([A-Z]{2}|001)$');

-- No new index on verifications: the raw part of a query is at most the
-- current day (and the previous one for 6 h) and the edges of its period, which the existing
-- (tenant_id, created_at) index serves, and the projection (store.Record)
-- keeps exactly the indexes and heap-only updates it had.

-- Daily rollups of the attempt analytics, per tenant, UTC day of
-- created_at, kind, channel, country and provider. A day is rolled up on
-- first demand once it is closed (it ended more than 6 hours ago; codes live at most an hour, so its
-- verifications are final); the analytics then read the rollups of the
-- closed days and the raw rows of the rest of the period. The percentiles
-- stay exact: each row keeps its samples (milliseconds). The projection
-- never writes here.
create table attempt_daily (
    tenant_id   text not null,
    day         date not null,
    kind        text not null,
    channel     text not null,
    country     text not null,
    provider    text not null,
    sent        int not null,
    delivered   int not null,
    read        int not null,
    failed      int not null,
    approvals   int not null,
    reached     int not null,
    failed_by   jsonb not null check (jsonb_typeof(failed_by) = 'object'),
    deliver_ms  int[] not null,
    approve_ms  int[] not null,
    primary key (tenant_id, day, kind, channel, country, provider)
);

-- The days rolled up (a day with no verification has a row here and none
-- in attempt_daily).
create table attempt_daily_days (
    tenant_id    text not null,
    day          date not null,
    rolled_at    timestamptz not null default now(),
    primary key (tenant_id, day)
);

-- The same for GET /v1/analytics/channels (rolled up with attempt_daily).
create table channel_daily (
    tenant_id   text not null,
    day         date not null,
    kind        text not null,
    channel     text not null,
    sent        int not null,
    delivered   int not null,
    failed      int not null,
    reached     int not null,
    approvals   int not null,
    approve_ms  int[] not null,
    primary key (tenant_id, day, kind, channel)
);
