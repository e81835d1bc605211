-- 0010_key_headroom: what a provider says a key has left, without spending
-- tokens: its balance (from the provider's balance endpoint, recorded by
-- `validate`) and its rate-limit headroom (x-ratelimit-* and
-- anthropic-ratelimit-* headers, seen by `validate` and by the gateway).
-- One row per key, replaced by each new observation.

-- Observations, like keys.last_outcome: not authenticated by a row MAC.
CREATE TABLE key_headroom (
    key_id      TEXT PRIMARY KEY NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
    balance     TEXT,   -- decimal as the provider wrote it ('110.00', '-0.07'); NULL = never reported
    currency    TEXT,   -- ISO 4217 ('CNY', 'USD') when known
    balance_at  TEXT,   -- when the balance was read
    rate_limits TEXT,   -- JSON: {"seen_at", "source", "limits": [{"name", "limit", "remaining", "reset"}]}
    CHECK ((balance IS NULL) = (balance_at IS NULL))
);
