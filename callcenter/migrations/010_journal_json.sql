-- The journal is written far more than it is read (rebuilds read it in seq
-- order; nothing queries inside a frame): keep each frame as the JSON text it
-- was written as (``json`` is only validated, ``jsonb`` is parsed and rebuilt:
-- a large share of the ingest's database time), and find a time range with a
-- BRIN index, which suits an append-only table in time order and costs next to
-- nothing per row, instead of a B-tree.
ALTER TABLE journal ALTER COLUMN frame TYPE json USING frame::json;
DROP INDEX journal_time_idx;
CREATE INDEX journal_time_brin ON journal USING brin (event_time);
