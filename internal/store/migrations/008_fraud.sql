-- The fraud engine's signals (internal/fraud): rolling counters per tenant
-- and signal key ("country:GB", "prefix:+44-770", "prefix_long:+44-77009",
-- "ip:203.0.113.7", "number_type:GB-mobile"), one row per UTC hour. A start
-- adds to starts, an approval to approvals, an SMS or voice send to sends
-- (country keys). Hours older than 15 days are pruned.
create table fraud_counters (
    tenant_id text not null,
    key       text not null check (key ~ '^(country|number_type|prefix|prefix_long|ip):.+$'),
    bucket    timestamptz not null check (bucket = date_bin('1 hour', bucket, timestamptz '1970-01-01 00:00:00+00')),
    starts    int not null default 0 check (starts >= 0),
    approvals int not null default 0 check (approvals >= 0),
    sends     int not null default 0 check (sends >= 0),
    primary key (tenant_id, key, bucket)
);
create index fraud_counters_bucket on fraud_counters (bucket);

-- What one client IP reached per UTC day: countries and destinations (keyed
-- hashes, never raw), for the distinct counts. Days older than 2 are pruned.
create table fraud_ip_seen (
    tenant_id text not null,
    ip        text not null,
    day       date not null,
    kind      text not null check (kind in ('country', 'destination')),
    value     text not null,
    primary key (tenant_id, ip, day, kind, value)
);

-- A verification's risk decision (the API's risk object, with the values
-- and thresholds of its reasons) and the signal keys it was counted under,
-- so that its approval and its SMS or voice sends are counted under the
-- same keys exactly once (fraud_approved, fraud_sends).
alter table verifications
    add column risk jsonb check (risk is null or (jsonb_typeof(risk) = 'object'
        and risk->>'decision' in ('allow', 'challenge', 'block')
        and risk->>'mode' in ('enforce', 'shadow')
        and jsonb_typeof(risk->'reasons') = 'array')),
    add column fraud_keys text[],
    add column fraud_approved boolean not null default false,
    add column fraud_sends int not null default 0 check (fraud_sends >= 0);

-- The shadow report reads a tenant's non-allow decisions by time.
create index verifications_risk on verifications (tenant_id, created_at)
    where risk->>'decision' <> 'allow';
