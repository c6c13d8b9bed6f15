-- "Your grid member" card (issue 17): what a grid member's or leader's public card shows, and the
-- short messages residents send them through the platform. Times are milliseconds since the epoch.

-- photo: the id of an image in `media` (no foreign key: `media` refers to `people`, and the data
-- copy fills `people` first); office_hours: free text; phone_public: the person consented to show
-- their work phone on the card (default: no — the card offers a message instead).
ALTER TABLE people ADD COLUMN photo TEXT;
ALTER TABLE people ADD COLUMN office_hours TEXT;
ALTER TABLE people ADD COLUMN phone_public INTEGER NOT NULL DEFAULT 0;

-- GET /media/{id} serves a card's photo to anyone: found by this index.
CREATE INDEX people_photo ON people (photo) WHERE photo IS NOT NULL;

-- A message to a grid member or leader from a signed-in person (sender) or from someone who left
-- a phone. sender_name, sender_phone and body are sealed. sender_key: 'p:<person id>' or the
-- blind index of the phone left, for the rate limit.
CREATE TABLE contact_messages (
    id           INTEGER PRIMARY KEY,
    recipient    INTEGER NOT NULL REFERENCES people(id),
    grid         TEXT NOT NULL,
    sender       INTEGER REFERENCES people(id),
    sender_name  TEXT,
    sender_phone TEXT,
    sender_key   TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    read_at      INTEGER
);
CREATE INDEX contact_messages_recipient ON contact_messages (recipient, id);
CREATE INDEX contact_messages_sender ON contact_messages (sender_key, created_at);
