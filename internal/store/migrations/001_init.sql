-- Tenants own API keys and verifications.
create table tenants (
    id          text primary key,
    name        text not null,
    created_at  timestamptz not null default now()
);

-- API keys: the id is the public lookup prefix, the secret is stored only
-- as a SHA-256 (it has 130 bits of entropy, so a slow hash adds nothing).
create table api_keys (
    id            text primary key,
    tenant_id     text not null references tenants(id),
    mode          text not null check (mode in ('test', 'live')),
    secret_hash   bytea not null,
    created_at    timestamptz not null default now(),
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
create index api_keys_tenant on api_keys (tenant_id);

-- Read model of verifications, projected by the workflow. Destinations are
-- stored masked only; the workflow input holds the real ones.
create table verifications (
    id            text primary key,
    tenant_id     text not null references tenants(id),
    mode          text not null,
    kind          text not null,
    status        text not null,
    channel       text,
    to_phone      text,
    to_email      text,
    checks_left   int not null,
    attempts      jsonb not null default '[]',
    metadata      jsonb,
    created_at    timestamptz not null,
    expires_at    timestamptz not null,
    completed_at  timestamptz,
    version       bigint not null default 0,
    updated_at    timestamptz not null default now()
);
create index verifications_tenant_created on verifications (tenant_id, created_at desc);

-- Idempotency-Key → verification, per tenant, for 24 hours.
create table idempotency_keys (
    tenant_id        text not null references tenants(id),
    key              text not null,
    request_hash     bytea not null,
    verification_id  text not null,
    created_at       timestamptz not null default now(),
    primary key (tenant_id, key)
);

-- Provider message id → verification, so receipts find their workflow.
create table messages (
    provider             text not null,
    provider_message_id  text not null,
    verification_id      text not null references verifications(id),
    seq                  int not null,
    channel              text not null,
    created_at           timestamptz not null default now(),
    primary key (provider, provider_message_id)
);
create index messages_verification on messages (verification_id);

-- Every receipt, stored before it is signalled. applied_at is set once the
-- workflow has it; a receipt that raced the send stays unapplied until the
-- message is registered.
create table receipts (
    id                   bigserial primary key,
    provider             text not null,
    provider_message_id  text not null,
    status               text not null,
    error                text,
    occurred_at          timestamptz not null,
    received_at          timestamptz not null default now(),
    dedupe_key           text not null unique,
    verification_id      text,
    applied_at           timestamptz
);
create index receipts_unapplied on receipts (provider, provider_message_id) where applied_at is null;

-- Append-only audit trail.
create table events (
    id               bigserial primary key,
    verification_id  text not null,
    tenant_id        text not null,
    type             text not null,
    channel          text,
    detail           text,
    occurred_at      timestamptz not null,
    recorded_at      timestamptz not null default now()
);
create index events_verification on events (verification_id, id);

create function events_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'events is append-only';
end $$;
create trigger events_no_update before update or delete on events
    for each row execute function events_append_only();

-- Test-mode messages. The body holds the code, so it is sealed (AES-GCM);
-- the destination is kept as a keyed hash for lookups and masked for display.
create table sandbox_messages (
    id               text primary key,
    tenant_id        text not null,
    verification_id  text not null,
    idempotency_key  text not null unique,
    channel          text not null,
    to_hash          bytea not null,
    to_masked        text not null,
    sealed_body      bytea not null,
    created_at       timestamptz not null default now()
);
create index sandbox_messages_tenant on sandbox_messages (tenant_id, to_hash, created_at desc);
