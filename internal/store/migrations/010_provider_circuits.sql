-- Provider circuit breakers (store/circuits.go; docs/reliability.md,
-- "Providers fail"): one row per provider, shared by every worker replica,
-- so a provider that fails for one worker is skipped by all of them.
--
--   closed     sends go to the provider; failures counts its consecutive
--              transient failures (5xx, timeouts, 429s, network errors),
--              each within window of the last one
--   open       sends skip it until open_until (the cool-down)
--   half_open  one probe send is under way until open_until; its success
--              closes the circuit, its failure opens it again
--
-- Holds no destination and no code: only the provider's name and counts.
create table provider_circuits (
    provider        text primary key,
    state           text not null default 'closed' check (state in ('closed', 'open', 'half_open')),
    failures        int not null default 0 check (failures >= 0),
    last_failure_at timestamptz,
    open_until      timestamptz,
    opened          bigint not null default 0,
    updated_at      timestamptz not null default now(),
    check ((state = 'closed') or (open_until is not null))
);

-- Provider send-rate caps (store/circuits.go, ReserveSend): one row per
-- provider and sender (Meta: the phone number id), holding the theoretical
-- arrival time of the next send (GCRA): sends are spaced 1/rate apart, so
-- a burst queues instead of drawing the provider's 429s.
create table provider_rates (
    provider text not null,
    key      text not null,
    tat      timestamptz not null,
    primary key (provider, key)
);
