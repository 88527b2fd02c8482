-- Guildhall schema, SQLite dialect. Kept in step with migrations/postgres/0001_init.sql:
-- same tables, columns and indexes; only the type names differ.
-- IDs are snowflakes (64-bit), times are milliseconds since the Unix epoch.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL,
    username_key  TEXT    UNIQUE,          -- lower-cased username; NULL once deleted
    display_name  TEXT    NOT NULL,
    email         TEXT,
    email_key     TEXT    UNIQUE,          -- lower-cased email
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    deleted_at    INTEGER
);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE servers (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    owner_id   INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
);

CREATE TABLE members (
    server_id INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id),
    role      TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (server_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id, server_id);

CREATE TABLE invites (
    code       TEXT    PRIMARY KEY,
    server_id  INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    creator_id INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    max_uses   INTEGER,
    uses       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX invites_by_server ON invites (server_id);

CREATE TABLE channels (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('text', 'dm')),
    server_id  INTEGER REFERENCES servers (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    topic      TEXT    NOT NULL DEFAULT '',
    position   INTEGER NOT NULL DEFAULT 0,
    dm_low     INTEGER REFERENCES users (id),
    dm_high    INTEGER REFERENCES users (id),
    created_at INTEGER NOT NULL,
    UNIQUE (dm_low, dm_high)
);
CREATE INDEX channels_by_server ON channels (server_id, id);
CREATE INDEX channels_by_dm_high ON channels (dm_high);

CREATE TABLE messages (
    id         INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    author_id  INTEGER NOT NULL REFERENCES users (id),
    content    TEXT    NOT NULL,
    reply_to   INTEGER,                    -- no foreign key: a reply outlives its parent
    created_at INTEGER NOT NULL,
    edited_at  INTEGER
);
CREATE INDEX messages_by_channel ON messages (channel_id, id);

CREATE TABLE reactions (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    emoji      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (message_id, user_id, emoji)
);
CREATE INDEX reactions_by_message ON reactions (message_id, id);

CREATE TABLE relationships (
    id           INTEGER PRIMARY KEY,
    user_low     INTEGER NOT NULL REFERENCES users (id),
    user_high    INTEGER NOT NULL REFERENCES users (id),
    requester_id INTEGER NOT NULL REFERENCES users (id),
    addressee_id INTEGER NOT NULL REFERENCES users (id),
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'accepted', 'blocked')),
    blocked_by   INTEGER REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (user_low, user_high)
);
CREATE INDEX relationships_by_high ON relationships (user_high);
