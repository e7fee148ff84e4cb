"""The service-item knowledge base: schema, loading and validation, and semantic search."""
