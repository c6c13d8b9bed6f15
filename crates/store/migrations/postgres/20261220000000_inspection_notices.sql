-- Overdue inspections are told to their grid members and, later, to the community's grid
-- leaders (issue 16): a notice now tells of a case event, an article, or an inspection due, one
-- of them. `due_key` names the due and the step (`place:12:<due_at>:member`,
-- `campaign:3:house:7:leaders`, ...); its identity is (due_key, recipient, channel), so a due
-- is told once per step whichever instance runs the clock.

ALTER TABLE notices ADD COLUMN due_key TEXT;
ALTER TABLE notices DROP CONSTRAINT notices_check;
ALTER TABLE notices ADD CONSTRAINT notices_one_subject CHECK (
       (case_id IS NOT NULL AND seq IS NOT NULL AND article_id IS NULL AND due_key IS NULL)
    OR (case_id IS NULL AND seq IS NULL AND article_id IS NOT NULL AND due_key IS NULL)
    OR (case_id IS NULL AND seq IS NULL AND article_id IS NULL AND due_key IS NOT NULL));
ALTER TABLE notices ADD UNIQUE (due_key, recipient, channel);
