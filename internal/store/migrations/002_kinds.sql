-- Keyed hashes of the destinations (never the destinations themselves), so
-- a new verification can supersede a pending one to the same destination.
alter table verifications add column to_phone_hash bytea, add column to_email_hash bytea;
create index verifications_pending_phone on verifications (tenant_id, kind, to_phone_hash) where status = 'pending';
create index verifications_pending_email on verifications (tenant_id, kind, to_email_hash) where status = 'pending';

-- Signed evidence of approved signatures. document holds the exact signed
-- JSON bytes (bytea, not jsonb, which would reformat them).
create table evidence (
    verification_id  text primary key references verifications(id),
    tenant_id        text not null,
    key_id           text not null,
    document         bytea not null,
    created_at       timestamptz not null default now()
);

create trigger evidence_no_update before update or delete on evidence
    for each row execute function events_append_only();
