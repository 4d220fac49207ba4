"""ingest: scheduled news-feed ingestion."""

__version__ = "0.1.0"
