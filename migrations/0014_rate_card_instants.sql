-- Two rate cards of one tenant may not take effect at the same instant: InForce would
-- have to choose between them by card id, a random UUID. Versions of one card may
-- share an effective_from (a pending version superseded by a newer one: the highest
-- version wins), so this is an exclusion, not a unique key: no two rows of a tenant
-- at the same effective_from with different ids. GiST equality on text and
-- timestamptz needs btree_gist, a trusted extension (PostgreSQL 13+): a database
-- owner without superuser may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Cards stored before this rule may tie: say which, rather than the constraint's
-- bare conflict. Resolve by moving one card's pending version, or, for versions
-- already in force, by deciding which card billed and editing the other's row.
DO $$
DECLARE tie record;
BEGIN
    SELECT a.tenant_id, a.effective_from, a.id AS first, b.id AS second INTO tie
    FROM rate_cards a
    JOIN rate_cards b ON b.tenant_id = a.tenant_id AND b.effective_from = a.effective_from AND b.id > a.id
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'rate cards % and % of tenant % both take effect at %: one must move before this migration',
            tie.first, tie.second, tie.tenant_id, tie.effective_from;
    END IF;
END $$;

ALTER TABLE rate_cards ADD CONSTRAINT rate_cards_one_card_per_instant
    EXCLUDE USING gist (tenant_id WITH =, effective_from WITH =, id WITH <>);
