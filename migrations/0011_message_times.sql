-- Message latency (message.Stats, GET /api/v1/messages/stats): when the API accepted a
-- message and when its outcome was recorded. Both are written by the store's Apply in
-- the same INSERT or UPDATE as the status (message.Message.Advance):
--   accepted_at: the `at` of the message's io.catalyst.message.requested entry (the
--     API stamps that event when it accepts the message), set when that entry is
--     recorded, even after a later event created the row;
--   finished_at: the store's clock when the status first became terminal (delivered,
--     failed, blocked, received); never moved afterwards (delivered → read keeps it).
-- Rows recorded before this migration keep both NULL and count in no latency: the
-- time their status became terminal was never kept, so nothing is backfilled.
-- Adding nullable columns without a default rewrites nothing.
ALTER TABLE messages
    ADD COLUMN accepted_at timestamptz,
    ADD COLUMN finished_at timestamptz;

-- No new index: Stats reads the tenant's messages created in [since, until), a range
-- of messages_tenant_created (tenant_id, created_at DESC, id DESC) from 0002. A
-- covering index would rarely give index-only scans (recent rows are still being
-- updated, so their pages are not all-visible) and would cost every status update.
