-- released_at: when the lease was last given up (or created), so that another slot's active
-- borrows a slot only after it has been free for the takeover delay.
ALTER TABLE leases ADD COLUMN released_at timestamptz;
UPDATE leases SET released_at = now() WHERE holder IS NULL;
ALTER TABLE leases ALTER COLUMN released_at SET DEFAULT now();
-- kafka_ok: whether the member can reach Kafka now (a standby's changelog reader is fetching).
-- An active that makes no progress hands its lease over only to a standby that can do better.
ALTER TABLE members ADD COLUMN kafka_ok boolean NOT NULL DEFAULT true;
ALTER TABLE members DROP CONSTRAINT members_role_check;
ALTER TABLE members ADD CONSTRAINT members_role_check
  CHECK (role IN ('starting', 'standby', 'taking-over', 'active', 'demoting'));
