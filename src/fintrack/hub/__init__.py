"""The hub: durable, gap-free channels of publications (store, policy, REST ingest) and their live fan-out."""
