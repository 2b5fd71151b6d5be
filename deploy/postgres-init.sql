-- Runs once, when the postgres volume is first initialised
-- (/docker-entrypoint-initdb.d), as POSTGRES_USER, through psql.
-- The image already created POSTGRES_DB (= POSTGRES_USER = veriflow), so every
-- database is created only when missing; PostgreSQL has no
-- CREATE DATABASE IF NOT EXISTS, hence \gexec.
SELECT 'CREATE DATABASE veriflow'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'veriflow')\gexec
SELECT 'CREATE DATABASE temporal'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal')\gexec
SELECT 'CREATE DATABASE temporal_visibility'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal_visibility')\gexec
