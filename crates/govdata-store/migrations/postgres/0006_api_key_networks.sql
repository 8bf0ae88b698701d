-- IP allow-list per application credential: a JSON array of networks
-- (CIDR, e.g. "10.12.0.0/16" or a single address); NULL admits any address.
ALTER TABLE api_keys ADD COLUMN allowed_networks TEXT;
