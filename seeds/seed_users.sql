-- Seeds the users table by hand, like the service's start-up seeder (SEED_USERS) does.
--
-- The schema comes from the Flyway migrations, which the service applies at start-up. To load it without
-- the service, apply them in order first:
--   cat src/main/resources/db/migration/V*.sql | psql "$DATABASE_URL"
-- then:
--   psql "$DATABASE_URL" -v users=100000 -f seeds/seed_users.sql
--
-- Only an empty table is seeded, so running it twice adds nothing. created_at falls in the last 30 days; about
-- 40% of rows were updated later; about 2% are soft-deleted (a deletion is an update too). Emails carry the row
-- number, which keeps them unique.
\if :{?users}
\else
  \set users 100000
\endif

BEGIN;
-- The same lock the service's seeder takes (0x5EED0001), so the two never seed at once.
DO $$ BEGIN PERFORM pg_advisory_xact_lock(1592590337); END $$;

WITH names AS (
    SELECT ARRAY['James','Mary','Robert','Patricia','John','Jennifer','Michael','Linda','David','Elizabeth',
                 'William','Barbara','Richard','Susan','Joseph','Jessica','Thomas','Sarah','Charles','Karen',
                 'Christopher','Lisa','Daniel','Nancy','Matthew','Betty','Anthony','Margaret','Mark','Sandra',
                 'Donald','Ashley','Steven','Kimberly','Paul','Emily','Andrew','Donna','Joshua','Michelle'] AS first,
           ARRAY['Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis','Rodriguez','Martinez',
                 'Hernandez','Lopez','Gonzalez','Wilson','Anderson','Thomas','Taylor','Moore','Jackson','Martin',
                 'Lee','Perez','Thompson','White','Harris','Sanchez','Clark','Ramirez','Lewis','Robinson',
                 'Walker','Young','Allen','King','Wright','Scott','Torres','Nguyen','Hill','O''Brien'] AS last
), rows AS (
    SELECT g AS n,
           first[1 + floor(random() * array_length(first, 1))::int] AS first_name,
           last[1 + floor(random() * array_length(last, 1))::int] AS last_name,
           now() - random() * interval '30 days' AS created,
           random() < 0.02 AS deleted,
           random() < 0.40 AS updated
      FROM names, generate_series(1, :users) AS g
)
INSERT INTO users (name, email, created_at, updated_at, is_deleted)
SELECT first_name || ' ' || last_name,
       lower(first_name) || '.' || regexp_replace(lower(last_name), '[^a-z0-9]', '', 'g') || '.' || n
           || '@example.com',
       created,
       CASE WHEN deleted OR updated
            THEN created + interval '1 microsecond' + random() * (now() - created)
            ELSE created END,
       deleted
  FROM rows
 WHERE NOT EXISTS (SELECT 1 FROM users);

COMMIT;
