-- Runs once, when the PostgreSQL data volume is created (docker-entrypoint-initdb.d).
-- Each service owns its database and connects with a role of its own; the two never
-- share tables. The passwords match the URLs in ../compose.env (local stack only).
CREATE ROLE notices_api LOGIN PASSWORD 'notices_api-local';
CREATE DATABASE notices_api OWNER notices_api;

CREATE ROLE notifier LOGIN PASSWORD 'notifier-local';
CREATE DATABASE notifier OWNER notifier;
