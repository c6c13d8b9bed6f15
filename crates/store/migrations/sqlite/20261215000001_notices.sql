-- Notifications (issue 18): an outbox written with every case event in its transaction, the
-- notices it fans out to (one per person or contact and channel, delivered by the server's
-- worker with retries; the inbox's are delivered when written), people's choices, the texts the
-- admin edited, and who follows a case or an area. Times are milliseconds since the Unix epoch.

CREATE TABLE notice_outbox (
    id      INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL,
    seq     INTEGER NOT NULL
);

-- recipient: 'p:<person id>', or 'c:<blind index of the phone>' for a contact without an account.
-- The pair (case_id, seq, recipient, channel) is the delivery's identity: fanning an event out
-- twice writes nothing twice, and its id is the idempotency key a channel receives.
-- address: the phone number or e-mail address (sealed), removed once sent.
-- status: pending (to send at next_attempt_at), sent, dead (gave up; listed for the admin),
-- capped (over the person's daily cap: kept in the inbox only).
CREATE TABLE notices (
    id              INTEGER PRIMARY KEY,
    recipient       TEXT NOT NULL,
    person_id       INTEGER REFERENCES people(id),
    channel         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    case_id         INTEGER NOT NULL REFERENCES cases(id),
    seq             INTEGER NOT NULL,
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
    UNIQUE (case_id, seq, recipient, channel)
);
CREATE INDEX notices_due ON notices (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notices_inbox ON notices (person_id, id) WHERE channel = 'inbox';
CREATE INDEX notices_sent_by ON notices (recipient, created_at) WHERE channel <> 'inbox';
CREATE INDEX notices_dead ON notices (id) WHERE status = 'dead';

-- A person's choices (domain::notices::NoticeSettings as JSON), e-mail address and the openid of
-- their WeChat bound to the town's official account (both sealed).
CREATE TABLE notice_settings (
    person_id  INTEGER PRIMARY KEY REFERENCES people(id),
    settings   TEXT NOT NULL,
    email      TEXT,
    wechat     TEXT,
    updated_at INTEGER NOT NULL
);

-- The texts the admin changed; the others are the defaults of domain::notices.
CREATE TABLE notice_templates (
    kind       TEXT NOT NULL,
    locale     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES people(id),
    PRIMARY KEY (kind, locale)
);

-- A person follows a case, a region (a grid, a community...), or a circle around a point.
CREATE TABLE follows (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES people(id),
    case_id    INTEGER REFERENCES cases(id),
    region     TEXT,
    lat        REAL,
    lon        REAL,
    radius_m   INTEGER,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX follows_person_case ON follows (person_id, case_id) WHERE case_id IS NOT NULL;
CREATE INDEX follows_case ON follows (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX follows_person ON follows (person_id);
