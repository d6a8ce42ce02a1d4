-- When the agent who answered left the conversation (hang-up or transfer):
-- talk_s is measured up to here, not to the end of a transferred call.
ALTER TABLE calls ADD COLUMN talk_ended_at timestamptz;
