-- Supervision orders waiting for a response, and which clock was warned about / marked overdue.
ALTER TABLE cases ADD COLUMN supervision TEXT;      -- JSON of SupervisionOrder
ALTER TABLE cases ADD COLUMN warned_due INTEGER;
ALTER TABLE cases ADD COLUMN overdue_due INTEGER;
CREATE INDEX cases_supervised ON cases(scope_region) WHERE supervision IS NOT NULL;
CREATE INDEX cases_open_clock ON cases(id) WHERE state NOT IN ('closed', 'rated', 'rejected') AND due_at IS NOT NULL;
