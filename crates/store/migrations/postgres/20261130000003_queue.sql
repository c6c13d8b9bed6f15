-- The dispatcher's queue (new reports and overdue cases of a region subtree, by deadline) and the
-- overdue cases of a region subtree: open cases by region, then clock. A subtree is a range of
-- scope_region; due_at and state are in the index so that the clock and state filters are read
-- from it, and only the rows that match are looked up.
CREATE INDEX cases_queue ON cases(scope_region, due_at, state, reported_at) WHERE state NOT IN ('closed', 'rated', 'rejected');
