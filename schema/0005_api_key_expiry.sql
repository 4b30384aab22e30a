-- API keys may expire: an integration's key can be issued for a limited time.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
