-- The send ledger: one row per send attempt of a verification (SendCode's
-- idempotency key "<verification id>/<seq>"), written around the provider
-- call so that a retried SendCode never calls the provider again once the
-- provider accepted the message (docs/reliability.md, "Sends: at most once,
-- or counted").
--
--   calling   the provider call is (or was) under way: lease_until bounds
--             it; a retry after lease_until does not know whether the
--             message went out, resends and counts it (calls > 1)
--   accepted  the provider accepted it: provider_message_id is its id
--   failed    a permanent failure: reason is the stable failure reason
--
-- It holds no code and no destination: only ids, the provider's name, its
-- message id and the reason.
create table send_ledger (
    idempotency_key     text primary key,
    verification_id     text not null,
    tenant_id           text not null,
    provider            text not null,
    state               text not null check (state in ('calling', 'accepted', 'failed')),
    provider_message_id text,
    reason              text,
    calls               int not null default 1 check (calls >= 1),
    lease_until         timestamptz not null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    check ((state = 'accepted') = (provider_message_id is not null)),
    check ((state = 'failed') = (reason is not null))
);
create index send_ledger_created on send_ledger (created_at);
