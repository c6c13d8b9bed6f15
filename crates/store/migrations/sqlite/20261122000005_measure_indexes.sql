-- Range scans of the measures: events by time, cases by the end of each stage.
CREATE INDEX case_events_at ON case_events(at);
CREATE INDEX cases_accepted ON cases(accepted_at) WHERE accepted_at IS NOT NULL;
CREATE INDEX cases_dispatched ON cases(dispatched_at) WHERE dispatched_at IS NOT NULL;
CREATE INDEX cases_resolved ON cases(resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX cases_verified ON cases(verified_at) WHERE verified_at IS NOT NULL;
