-- A category may be of kind hazard (issue 16: a failed check-list item opens a hazard case).
ALTER TABLE categories DROP CONSTRAINT categories_kind_check;
ALTER TABLE categories ADD CONSTRAINT categories_kind_check CHECK (kind IN ('component', 'event', 'hazard'));
