-- A notice tells of a case event, an urgent article (issue 17) or an overdue inspection due
-- (issue 16), one of them; its identity is (case_id, seq, recipient, channel), (article_id,
-- recipient, channel) or (due_key, recipient, channel). `due_key` names the due and the step
-- (`place:12:<due_at>:member`, `campaign:3:house:7:leaders`, ...), so a due is told once per
-- step whichever instance runs the clock. SQLite cannot drop a NOT NULL or change a CHECK, so
-- the table is rebuilt with its rows and indexes.
-- articles.pushed_at: when an urgent article's notices were written (NULL: not yet, or not
-- urgent). The urgent articles already published are taken as told, so that an upgrade does not
-- send old news.

CREATE TABLE notices_new (
    id              INTEGER PRIMARY KEY,
    recipient       TEXT NOT NULL,
    person_id       INTEGER REFERENCES people(id),
    channel         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    case_id         INTEGER REFERENCES cases(id),
    seq             INTEGER,
    locale          TEXT NOT NULL,
    address         TEXT,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    link            TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    read_at         INTEGER,
    article_id      INTEGER REFERENCES articles(id),
    due_key         TEXT,
    CHECK ((case_id IS NOT NULL AND seq IS NOT NULL AND article_id IS NULL AND due_key IS NULL)
        OR (case_id IS NULL AND seq IS NULL AND article_id IS NOT NULL AND due_key IS NULL)
        OR (case_id IS NULL AND seq IS NULL AND article_id IS NULL AND due_key IS NOT NULL)),
    UNIQUE (case_id, seq, recipient, channel),
    UNIQUE (article_id, recipient, channel),
    UNIQUE (due_key, recipient, channel)
);
INSERT INTO notices_new (id, recipient, person_id, channel, kind, case_id, seq, locale, address, subject, body,
                         link, status, attempts, next_attempt_at, last_error, created_at, sent_at, read_at)
SELECT id, recipient, person_id, channel, kind, case_id, seq, locale, address, subject, body,
       link, status, attempts, next_attempt_at, last_error, created_at, sent_at, read_at
FROM notices;
DROP TABLE notices;
ALTER TABLE notices_new RENAME TO notices;
CREATE INDEX notices_due ON notices (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notices_inbox ON notices (person_id, id) WHERE channel = 'inbox';
CREATE INDEX notices_sent_by ON notices (recipient, created_at) WHERE channel <> 'inbox';
CREATE INDEX notices_dead ON notices (id) WHERE status = 'dead';

ALTER TABLE articles ADD COLUMN pushed_at INTEGER;
UPDATE articles SET pushed_at = updated_at WHERE urgent;
CREATE INDEX articles_to_push ON articles (publish_at) WHERE urgent AND pushed_at IS NULL;
