-- Two small schema contracts that several features build on (#22, #23):
-- * the post-call satisfaction survey's answer, kept on the call it belongs to:
--   survey_offered is true once the dialplan ran the survey for this call (its
--   UserEvent arrived), survey_score is the caller's 1-5, null when the caller
--   pressed nothing or hung up during the prompt (unknown is null, not zero);
-- * the customer's profile (configurable fields, validated by the application),
--   the key-account flag (重点客户) and its tier, which give queue priority.
ALTER TABLE calls
    ADD COLUMN survey_offered boolean  NOT NULL DEFAULT false,
    ADD COLUMN survey_score   smallint CHECK (survey_score BETWEEN 1 AND 5);

ALTER TABLE customers
    ADD COLUMN profile     jsonb   NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN key_account boolean NOT NULL DEFAULT false,
    ADD COLUMN tier        text    CHECK (tier <> '');
CREATE INDEX customers_key_account_idx ON customers (id) WHERE key_account;
