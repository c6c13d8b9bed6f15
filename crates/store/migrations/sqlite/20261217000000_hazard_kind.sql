-- A category may be of kind hazard (issue 16: a failed check-list item opens a hazard case).
-- SQLite cannot change a CHECK constraint in place, and rebuilding `categories` would need
-- foreign keys off, which cannot be switched inside the transaction this migration runs in.
-- Widening a CHECK changes nothing stored, so the table's definition is edited as SQLite's
-- documentation allows for constraint changes (ALTER TABLE, section 7): `writable_schema`,
-- then RESET to reload the schema, and a schema change to make every other connection reload.
PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, 'CHECK (kind IN (''component'', ''event''))', 'CHECK (kind IN (''component'', ''event'', ''hazard''))')
WHERE type = 'table' AND name = 'categories';
PRAGMA writable_schema = RESET;
CREATE TABLE hazard_kind_bump (x INTEGER);
DROP TABLE hazard_kind_bump;
