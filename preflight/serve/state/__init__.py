"""What the service remembers: jobs, takes, capture sessions and idempotency keys."""
