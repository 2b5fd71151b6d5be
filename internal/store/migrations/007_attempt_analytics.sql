-- Attempt-level analytics (GET /v1/analytics/attempts).
--
-- country is the ISO 3166-1 alpha-2 region of the phone destination at
-- start (libphonenumber; "001" for non-geographic numbers), null without a
-- phone and for rows written before this migration: analytics report those
-- as "unknown". It never changes after the insert, so it does not stop the
-- projection's updates from being HOT.
alter table verifications add column country text
    check (country ~ '^([A-Z]{2}|001)$');

-- The analytics read a tenant's period with an optional kind. The index
-- keys only columns the projection never updates (tenant_id, kind,
-- created_at), so store.Record's updates stay heap-only (HOT) and pay
-- nothing for it.
create index verifications_tenant_kind_created on verifications (tenant_id, kind, created_at);
