"""The domain layer: reading audit-archive PDFs, extracting what they say, and the catalogue."""
