-- An urgent article is pushed through the notification channels (issue 17): a notice now tells
-- of a case event or of an article, one of them; its identity for an article is (article_id,
-- recipient, channel), as (case_id, seq, recipient, channel) is for an event.
-- articles.pushed_at: when its notices were written (NULL: not yet, or not urgent). The urgent
-- articles already published are taken as told, so that an upgrade does not send old news.

ALTER TABLE notices ALTER COLUMN case_id DROP NOT NULL;
ALTER TABLE notices ALTER COLUMN seq DROP NOT NULL;
ALTER TABLE notices ADD COLUMN article_id BIGINT REFERENCES articles(id);
ALTER TABLE notices ADD CHECK ((case_id IS NOT NULL AND seq IS NOT NULL AND article_id IS NULL)
    OR (case_id IS NULL AND seq IS NULL AND article_id IS NOT NULL));
ALTER TABLE notices ADD UNIQUE (article_id, recipient, channel);

ALTER TABLE articles ADD COLUMN pushed_at BIGINT;
UPDATE articles SET pushed_at = updated_at WHERE urgent;
CREATE INDEX articles_to_push ON articles (publish_at) WHERE urgent AND pushed_at IS NULL;
