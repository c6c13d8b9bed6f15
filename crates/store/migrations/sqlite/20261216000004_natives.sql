-- The directory of notable natives (乡贤, issue 17): each field shown by the native's consent
-- (consent: JSON {field: public|staff|private}); name and phone sealed. What they bring (advice,
-- investment leads, donations) with each step of its follow-up, and the invitations sent to them.
CREATE TABLE natives (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    home_region  TEXT NOT NULL,
    expertise    TEXT NOT NULL,
    city         TEXT NOT NULL,
    organisation TEXT NOT NULL,
    phone        TEXT,
    consent      TEXT NOT NULL,
    created_by   INTEGER NOT NULL REFERENCES people(id),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX natives_home ON natives (home_region, id);

CREATE TABLE native_leads (
    id         INTEGER PRIMARY KEY,
    native_id  INTEGER NOT NULL REFERENCES natives(id),
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES people(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX native_leads_of ON native_leads (native_id, id);

CREATE TABLE native_lead_notes (
    id        INTEGER PRIMARY KEY,
    lead_id   INTEGER NOT NULL REFERENCES native_leads(id),
    by_person INTEGER NOT NULL REFERENCES people(id),
    at        INTEGER NOT NULL,
    note      TEXT NOT NULL,
    status    TEXT NOT NULL
);
CREATE INDEX native_lead_notes_of ON native_lead_notes (lead_id, id);

-- target: consultation:ID or proposal:ID; sent: an SMS went to the native's phone.
CREATE TABLE native_invitations (
    id        INTEGER PRIMARY KEY,
    native_id INTEGER NOT NULL REFERENCES natives(id),
    target    TEXT NOT NULL,
    by_person INTEGER NOT NULL REFERENCES people(id),
    at        INTEGER NOT NULL,
    sent      BOOLEAN NOT NULL
);
CREATE INDEX native_invitations_of ON native_invitations (native_id, id);
