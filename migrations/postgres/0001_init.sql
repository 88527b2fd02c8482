-- Guildhall schema, PostgreSQL dialect. Kept in step with migrations/sqlite/0001_init.sql:
-- same tables, columns and indexes; only the type names differ.
-- IDs are snowflakes (64-bit), times are milliseconds since the Unix epoch.

CREATE TABLE users (
    id            BIGINT PRIMARY KEY,
    username      TEXT    NOT NULL,
    username_key  TEXT COLLATE "C" UNIQUE,         -- lower-cased username; NULL once deleted
    display_name  TEXT    NOT NULL,
    email         TEXT,
    email_key     TEXT    UNIQUE,          -- lower-cased email
    password_hash TEXT    NOT NULL,
    created_at    BIGINT NOT NULL,
    deleted_at    BIGINT
);

CREATE TABLE sessions (
    id           BIGINT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    csrf_token   TEXT    NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE servers (
    id         BIGINT PRIMARY KEY,
    name       TEXT    NOT NULL,
    owner_id   BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE members (
    server_id BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL REFERENCES users (id),
    role      TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (server_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id, server_id);

CREATE TABLE invites (
    code       TEXT    PRIMARY KEY,
    server_id  BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    creator_id BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    max_uses   BIGINT,
    uses       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX invites_by_server ON invites (server_id);

CREATE TABLE channels (
    id         BIGINT PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('text', 'dm')),
    server_id  BIGINT REFERENCES servers (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    topic      TEXT    NOT NULL DEFAULT '',
    position   BIGINT NOT NULL DEFAULT 0,
    dm_low     BIGINT REFERENCES users (id),
    dm_high    BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (dm_low, dm_high)
);
CREATE INDEX channels_by_server ON channels (server_id, id);
CREATE INDEX channels_by_dm_high ON channels (dm_high);

CREATE TABLE messages (
    id         BIGINT PRIMARY KEY,
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    author_id  BIGINT NOT NULL REFERENCES users (id),
    content    TEXT    NOT NULL,
    reply_to   BIGINT,                    -- no foreign key: a reply outlives its parent
    created_at BIGINT NOT NULL,
    edited_at  BIGINT
);
CREATE INDEX messages_by_channel ON messages (channel_id, id);

CREATE TABLE reactions (
    id         BIGINT PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    emoji      TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (message_id, user_id, emoji)
);
CREATE INDEX reactions_by_message ON reactions (message_id, id);

CREATE TABLE relationships (
    id           BIGINT PRIMARY KEY,
    user_low     BIGINT NOT NULL REFERENCES users (id),
    user_high    BIGINT NOT NULL REFERENCES users (id),
    requester_id BIGINT NOT NULL REFERENCES users (id),
    addressee_id BIGINT NOT NULL REFERENCES users (id),
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'accepted', 'blocked')),
    blocked_by   BIGINT REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (user_low, user_high)
);
CREATE INDEX relationships_by_high ON relationships (user_high);
