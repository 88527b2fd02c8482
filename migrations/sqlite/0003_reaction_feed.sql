-- The reaction feed (`GET /emojis` without `message_id`) walks each
-- readable channel's reactions by id, and `?user_id=` one user's: each
-- reaction records its message's channel (a message never moves, and
-- deleting the channel deletes its messages and so their reactions).
-- Kept in step with migrations/postgres/0003_reaction_feed.sql.
ALTER TABLE reactions ADD COLUMN channel_id INTEGER;
UPDATE reactions SET channel_id = (SELECT channel_id FROM messages WHERE messages.id = reactions.message_id);
CREATE INDEX reactions_by_channel ON reactions (channel_id, id);
CREATE INDEX reactions_by_user ON reactions (user_id, id);
