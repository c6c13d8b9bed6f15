-- Personal data sealed at rest, resident sign-in by one-time code, rate limits, API tokens and
-- the hash-chained audit log.

-- people.name and people.phone hold sealed values (enc:v1:...); phone_index is a blind index.
ALTER TABLE people ADD COLUMN phone_index TEXT;
ALTER TABLE people ADD COLUMN id_number TEXT;          -- sealed
ALTER TABLE people ADD COLUMN totp_secret TEXT;        -- sealed
ALTER TABLE people ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX people_phone_index ON people(phone_index) WHERE phone_index IS NOT NULL;

-- Contact details left with a report (sealed).
ALTER TABLE cases ADD COLUMN contact_name TEXT;
ALTER TABLE cases ADD COLUMN contact_phone TEXT;

-- 'session' (web sign-in, expires) or 'api' (a named token for another system).
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'session';
ALTER TABLE sessions ADD COLUMN name TEXT;

CREATE TABLE otp_codes (
    phone_index TEXT PRIMARY KEY,
    code_hash   TEXT NOT NULL,
    sent_at     INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0
);

-- Failures per key ("login:NAME", "ip:1.2.3.4", "otp:INDEX") in a sliding window, and lockouts.
CREATE TABLE auth_limits (
    key          TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    locked_until INTEGER
);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     INTEGER,
    action    TEXT NOT NULL,
    object    TEXT,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log(actor, at);
CREATE INDEX audit_log_action ON audit_log(action, at);
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
