-- Run once by the postgres image, only when its data volume is empty
-- (mounted into /docker-entrypoint-initdb.d by docker-compose.yml).
-- The notification service keeps its own database so that it can be moved to a
-- separate server later without untangling tables; POSTGRES_DB only creates one.
-- On an existing volume this file is NOT re-run: create the database by hand
-- (`docker-compose exec postgres createdb -U downbeat -O downbeat downbeat_notifications`).
CREATE DATABASE downbeat_notifications OWNER downbeat;
