-- Outbound events: a tenant's callback URL and the events POSTed there.
--
-- The signing secret must be readable to sign, so it is sealed (AES-GCM,
-- otp.Secrets.Seal, AAD bound to the tenant), never stored in the clear.
create table tenant_callbacks (
    tenant_id      text primary key references tenants(id),
    url            text not null,
    sealed_secret  bytea not null,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);

-- One row per contract event of a verification whose tenant had a callback
-- when the event was projected. body is the exact JSON POSTed (bytea, so it
-- is never reformatted). status: pending until a 2xx; delivered; failed
-- when delivery was given up (no callback any more, or retries exhausted).
-- workflow_id is the DeliverEvent workflow currently responsible for the
-- row (a resend replaces it); started_at is set once it was started, so the
-- relay (re)starts exactly the workflows whose start was lost.
-- version and idx (the projection's state version, the event's index in
-- it) order a verification's events as the workflow emitted them: ids do
-- not, since two projections may commit concurrently. dedupe_key
-- (verification, version, idx) keeps a retried projection from queueing
-- an event twice.
create table outbound_events (
    id               bigserial primary key,
    tenant_id        text not null references tenants(id),
    verification_id  text not null,
    type             text not null,
    version          bigint not null,
    idx              int not null,
    body             bytea not null,
    created_at       timestamptz not null default now(),
    status           text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    attempts         int not null default 0,
    last_status      int,
    last_error       text,
    delivered_at     timestamptz,
    pending_since    timestamptz not null default now(),
    workflow_id      text not null,
    started_at       timestamptz,
    dedupe_key       text not null unique
);
create index outbound_events_verification on outbound_events (tenant_id, verification_id, version, idx);
create index outbound_events_unstarted on outbound_events (pending_since) where status = 'pending' and started_at is null;
create index outbound_events_pending on outbound_events (pending_since) where status = 'pending';
