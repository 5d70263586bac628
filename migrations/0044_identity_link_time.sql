-- When, by the browser's clock, the hit that identified the person was sent. A browser's hits
-- can reach the server out of order (two beacons in flight, a page that loads while the
-- previous page's identify call is still on its way): a page viewed after "I am Erin" but
-- stored before it went to the browser's previous person. With this time the late
-- identification takes over the hits sent after it, and an identification older than the
-- browser's current one takes only the hits sent between the two. Empty for links made
-- before this migration and for those whose source has no such clock (Segment, the API):
-- their creation time stands in.
ALTER TABLE identity_links ADD COLUMN identified_at timestamptz;

-- A late identification (older than the browser's identification standing when it arrived)
-- takes the hits sent between the two but leaves the browser with the newer person: the lead
-- pages say so instead of "this browser changed hands".
ALTER TABLE identity_links ADD COLUMN late boolean NOT NULL DEFAULT false;
