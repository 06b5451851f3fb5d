-- One lease per (app, slot): who should be the slot's active. Timed by the database clock only.
CREATE TABLE leases (
  app_id          text        NOT NULL,
  slot            integer     NOT NULL CHECK (slot >= 0),
  holder          text,                  -- instance id of the active; NULL when released
  holder_address  text,                  -- its HTTP address, for forwarding queries
  epoch           bigint      NOT NULL DEFAULT 0,  -- +1 on every acquisition
  renewed_at      timestamptz,
  PRIMARY KEY (app_id, slot)
);
