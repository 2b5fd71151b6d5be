-- A tenant's branding: the display name its messages say ("… is your Acme
-- code") and its SMS autofill settings, set with `veriflow tenant
-- set-name` and `veriflow tenant set-autofill`. Null means "not set here":
-- the tenant's entry in the config file applies, then VERIFLOW_BRAND.
-- tenants.name stays the tenant's label (apikey create sets it to the id).
-- The checks repeat the application's validation (internal/messages) as a
-- last line of defence.
alter table tenants
    add column display_name  text check (char_length(display_name) between 1 and 40
                                         and display_name !~ '[[:cntrl:]]'),
    add column sms_origin    text check (sms_origin ~ '^[a-z0-9.-]{1,253}$'),
    add column sms_app_hash  text check (sms_app_hash ~ '^[A-Za-z0-9+/]{11}$');
