-- The read model's invariants, enforced by the database (issue 14).
--
-- A start superseded (or finished) before its first send used to project
-- its attempts as the JSON scalar null (an empty Go slice marshalled as
-- null); jsonb_array_elements then failed on that row and the channel
-- analytics answered 503 for the whole tenant. The code now always writes an
-- array (store.attemptsJSON, workflows.cloneState); this migration repairs
-- the rows already written, then makes the database refuse any row that
-- breaks what the code relies on:
--
--   attempts      a JSON array of objects, each with a string "channel" and
--                 a string "status" (what the analytics expand and group
--                 by); "sent_at", when present, a string or null
--                 (verification_attempts_valid, below)
--   status        one of contract's statuses (internal/contract/enums.go;
--                 a new status needs a migration, and
--                 TestReadModelStatusesMatchContract says so)
--   checks_left   >= 0
--   completed_at  set exactly when the status is final (not 'pending')
--
-- Each rule is a CHECK constraint, so the projection (store.Record) and the
-- start (store.InsertVerification) fail loudly rather than poison a read.

-- verification_attempts_valid reports whether a jsonb value is an array of
-- attempt objects with a string channel and status. It is immutable (it
-- reads only its argument), so a CHECK constraint may call it.
create function verification_attempts_valid(a jsonb) returns boolean
language plpgsql immutable strict parallel safe as $$
begin
    if jsonb_typeof(a) <> 'array' then
        return false;
    end if;
    return not exists (
        select 1 from jsonb_array_elements(a) e
        where jsonb_typeof(e) <> 'object'
           or jsonb_typeof(e->'channel') is distinct from 'string'
           or jsonb_typeof(e->'status') is distinct from 'string'
           or (e ? 'sent_at' and jsonb_typeof(e->'sent_at') not in ('string', 'null')));
end $$;

-- Repairs. attempts: a non-array becomes []; an array keeps its well-formed
-- elements only (none were ever written malformed by the code).
update verifications set attempts = '[]'
where attempts is null or jsonb_typeof(attempts) <> 'array';

update verifications set attempts = coalesce((
    select jsonb_agg(e order by n) from jsonb_array_elements(attempts) with ordinality as t(e, n)
    where verification_attempts_valid(jsonb_build_array(e))), '[]')
where not verification_attempts_valid(attempts);

update verifications set checks_left = 0 where checks_left < 0;

-- A final row without completed_at: its last update is the best estimate.
update verifications set completed_at = updated_at where status <> 'pending' and completed_at is null;
update verifications set completed_at = null where status = 'pending' and completed_at is not null;

-- No code path ever wrote an unknown status: if one exists, the constraint
-- below fails the migration (loudly) rather than guess what it meant.
alter table verifications
    add constraint verifications_attempts_valid check (verification_attempts_valid(attempts)),
    add constraint verifications_status_known
        check (status in ('pending', 'approved', 'expired', 'canceled', 'max_checks_reached', 'failed')),
    add constraint verifications_checks_left_nonnegative check (checks_left >= 0),
    add constraint verifications_completed_when_final
        check ((status = 'pending') = (completed_at is null));
