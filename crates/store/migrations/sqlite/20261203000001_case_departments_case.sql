-- The departments of one case, found by the case (the primary key leads with the department):
-- PostgreSQL's schema had this index from the start; SQLite's scanned every link to replace a
-- case's departments at each dispatch.
CREATE INDEX IF NOT EXISTS case_departments_case ON case_departments(case_id);
