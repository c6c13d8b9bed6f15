-- Hotline entry (issue 18): a caller's earlier cases found by phone without decrypting, and the
-- other callers attached to a case.

-- The blind index of the sealed contact phone (`Vault::blind_index("phone", …)`, as people's
-- phones). New and changed cases write it with the row; rows stored before this migration are
-- indexed at start (`SqlStore::index_contact_phones`), a batch at a time, found through
-- `cases_contact_phone_unindexed`, which is empty once they are done.
ALTER TABLE cases ADD COLUMN contact_phone_index TEXT;
CREATE INDEX cases_contact_phone_index ON cases(contact_phone_index) WHERE contact_phone_index IS NOT NULL;
CREATE INDEX cases_contact_phone_unindexed ON cases(id) WHERE contact_phone IS NOT NULL AND contact_phone_index IS NULL;

-- Another caller about an existing case: written with the case's `add_caller` event (its `seq`)
-- in one transaction. `phone` and `name` are sealed, `phone_index` is the phone's blind index;
-- all three are cleared when the case is anonymised. `tracking_hash` is the SHA-256 of the
-- tracking code sent to the caller, which opens the case as the reporter's does.
CREATE TABLE case_callers (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    seq           INTEGER NOT NULL,
    phone         TEXT,
    phone_index   TEXT,
    name          TEXT,
    at            INTEGER NOT NULL,
    taken_by      INTEGER REFERENCES people(id),
    tracking_hash TEXT UNIQUE,
    UNIQUE (case_id, seq)
);
CREATE INDEX case_callers_phone_index ON case_callers(phone_index) WHERE phone_index IS NOT NULL;
