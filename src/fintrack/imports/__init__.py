"""Statement imports: formats (pure parsers), sessions (preview, commit, revert), dedupe and transfers."""
