-- A notice tells of a case event, an urgent article (issue 17) or an overdue inspection due
-- (issue 16), one of them; its identity is (case_id, seq, recipient, channel), (article_id,
-- recipient, channel) or (due_key, recipient, channel). `due_key` names the due and the step
-- (`place:12:<due_at>:member`, `campaign:3:house:7:leaders`, ...), so a due is told once per
-- step whichever instance runs the clock.
-- articles.pushed_at: when an urgent article's notices were written (NULL: not yet, or not
-- urgent). The urgent articles already published are taken as told, so that an upgrade does not
-- send old news.

ALTER TABLE notices ALTER COLUMN case_id DROP NOT NULL;
ALTER TABLE notices ALTER COLUMN seq DROP NOT NULL;
ALTER TABLE notices ADD COLUMN article_id BIGINT REFERENCES articles(id);
ALTER TABLE notices ADD COLUMN due_key TEXT;
ALTER TABLE notices ADD CONSTRAINT notices_one_subject CHECK (
       (case_id IS NOT NULL AND seq IS NOT NULL AND article_id IS NULL AND due_key IS NULL)
    OR (case_id IS NULL AND seq IS NULL AND article_id IS NOT NULL AND due_key IS NULL)
    OR (case_id IS NULL AND seq IS NULL AND article_id IS NULL AND due_key IS NOT NULL));
ALTER TABLE notices ADD UNIQUE (article_id, recipient, channel);
ALTER TABLE notices ADD UNIQUE (due_key, recipient, channel);

ALTER TABLE articles ADD COLUMN pushed_at BIGINT;
UPDATE articles SET pushed_at = updated_at WHERE urgent;
CREATE INDEX articles_to_push ON articles (publish_at) WHERE urgent AND pushed_at IS NULL;
