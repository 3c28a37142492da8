"""Full-text search over the catalogue (Whoosh): analyzer, schema, building, queries."""
