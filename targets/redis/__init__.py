"""Redis with Sentinel failover (Debian's redis-server and redis-sentinel)."""
