-- Participation (issue 17): articles that staff publish to a region and everything under it, the
-- reads they get per grid, consultations on a draft with one vote per resident and comments that
-- staff may hide (audited), and residents' proposals with their supporters. Times are
-- milliseconds since the Unix epoch.

-- body: HTML sanitised by the server (an allow-list) before it is stored.
-- cover: an uploaded image (media.id) shown above the article; public while the article is.
CREATE TABLE articles (
    id           INTEGER PRIMARY KEY,
    region       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL,
    summary      TEXT NOT NULL,
    body         TEXT NOT NULL,
    cover        TEXT REFERENCES media(id),
    publish_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    pinned       BOOLEAN NOT NULL,
    urgent       BOOLEAN NOT NULL,
    author_id    INTEGER NOT NULL REFERENCES people(id),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    withdrawn_at INTEGER,
    withdrawn_by INTEGER REFERENCES people(id),
    reads        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX articles_feed ON articles (region, publish_at);
CREATE INDEX articles_cover ON articles (cover) WHERE cover IS NOT NULL;

-- Reads of an article per grid of its readers (region '' when the reader named none); a person
-- signed in counts once (article_readers).
CREATE TABLE article_reads (
    article_id INTEGER NOT NULL REFERENCES articles(id),
    region     TEXT NOT NULL,
    reads      INTEGER NOT NULL,
    PRIMARY KEY (article_id, region)
);
CREATE TABLE article_readers (
    article_id INTEGER NOT NULL REFERENCES articles(id),
    person_id  INTEGER NOT NULL REFERENCES people(id),
    at         INTEGER NOT NULL,
    PRIMARY KEY (article_id, person_id)
);

-- answer: the official summary and answer, published once the consultation closed.
CREATE TABLE consultations (
    id          INTEGER PRIMARY KEY,
    region      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    opens_at    INTEGER NOT NULL,
    closes_at   INTEGER NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES people(id),
    created_at  INTEGER NOT NULL,
    summary     TEXT,
    answer      TEXT,
    answered_at INTEGER,
    answered_by INTEGER REFERENCES people(id)
);
CREATE INDEX consultations_region ON consultations (region, closes_at);

-- One vote per person and consultation, changeable while it is open; grid: the voter's grid.
CREATE TABLE consultation_votes (
    consultation_id INTEGER NOT NULL REFERENCES consultations(id),
    person_id       INTEGER NOT NULL REFERENCES people(id),
    stance          TEXT NOT NULL,
    grid            TEXT NOT NULL,
    at              INTEGER NOT NULL,
    PRIMARY KEY (consultation_id, person_id)
);

CREATE TABLE consultation_comments (
    id              INTEGER PRIMARY KEY,
    consultation_id INTEGER NOT NULL REFERENCES consultations(id),
    person_id       INTEGER NOT NULL REFERENCES people(id),
    grid            TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    hidden_at       INTEGER,
    hidden_by       INTEGER REFERENCES people(id),
    hidden_reason   TEXT
);
CREATE INDEX consultation_comments_of ON consultation_comments (consultation_id, id);

-- region: the community whose agenda the proposal goes on. threshold: the supporters it needs,
-- as the setting said when it was made. due_at: when it must be answered, once on the agenda.
CREATE TABLE proposals (
    id          INTEGER PRIMARY KEY,
    region      TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    proposer_id INTEGER NOT NULL REFERENCES people(id),
    created_at  INTEGER NOT NULL,
    status      TEXT NOT NULL,
    supports    INTEGER NOT NULL,
    threshold   INTEGER NOT NULL,
    agenda_at   INTEGER,
    due_at      INTEGER,
    answer      TEXT,
    answered_at INTEGER,
    answered_by INTEGER REFERENCES people(id),
    case_id     INTEGER REFERENCES cases(id)
);
CREATE INDEX proposals_region ON proposals (region, id);
CREATE INDEX proposals_status ON proposals (status, due_at);

CREATE TABLE proposal_supports (
    proposal_id INTEGER NOT NULL REFERENCES proposals(id),
    person_id   INTEGER NOT NULL REFERENCES people(id),
    at          INTEGER NOT NULL,
    PRIMARY KEY (proposal_id, person_id)
);
