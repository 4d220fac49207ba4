"""One poll of one source: fetch the feed, decide what is new, build and store its entries."""
