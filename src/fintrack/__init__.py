"""FinTrack: self-hosted household finance and a real-time signal hub."""
