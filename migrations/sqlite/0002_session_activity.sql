-- When each session was last used (for the idle timeout and the session
-- list), and the client it was opened from. Kept in step with
-- migrations/postgres/0002_session_activity.sql.
ALTER TABLE sessions ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
UPDATE sessions SET last_used_at = created_at;
