-- Placeholder so that tern (which refuses gaps) can apply 007 on the
-- analytics branch. The readmodel branch owns migration 006: on merge,
-- delete this file and keep theirs.
select 1;
