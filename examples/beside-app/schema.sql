-- The tables of beside-app. The app runs this at start; every statement is idempotent.

-- The application's own data.
CREATE TABLE IF NOT EXISTS messages (
    id bigserial PRIMARY KEY,
    author text NOT NULL,
    text text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Centrifugo's outbox layout: the hub's PostgreSQL consumer reads rows in id order per
-- partition, runs `method` with `payload` as a server API command, and deletes the row.
CREATE TABLE IF NOT EXISTS centrifugo_outbox (
    id bigserial PRIMARY KEY,
    method text NOT NULL,
    payload jsonb NOT NULL,
    partition bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Wakes the consumer as soon as a row commits (NOTIFY is delivered at commit, never for a
-- rolled-back insert); without it the consumer still finds rows by polling.
CREATE OR REPLACE FUNCTION centrifugo_notify_partition_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('centrifugo_partition_change', NEW.partition::text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER centrifugo_notify_partition_trigger
    AFTER INSERT ON centrifugo_outbox
    FOR EACH ROW EXECUTE FUNCTION centrifugo_notify_partition_change();
