-- A join token names the level and region the joining node must declare, so
-- a leaked token cannot make a node of another region (whose changes and
-- applications its parent would then accept as that region's).
ALTER TABLE federation_join_tokens ADD COLUMN level TEXT;
ALTER TABLE federation_join_tokens ADD COLUMN region TEXT;
