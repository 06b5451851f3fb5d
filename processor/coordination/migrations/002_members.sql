-- Every processor instance, active or standby, and what `sluice status` shows of it.
CREATE TABLE members (
  app_id          text        NOT NULL,
  instance_id     text        NOT NULL,
  slot            integer     NOT NULL,
  role            text        NOT NULL CHECK (role IN ('active', 'standby', 'starting')),
  address         text,
  changelog_lag   bigint,               -- standbys: changelog records not yet applied
  seen_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app_id, instance_id)
);
