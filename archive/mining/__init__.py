"""Mining the catalogue: cases, summaries, scope suggestions, auditor matching, training packs."""
