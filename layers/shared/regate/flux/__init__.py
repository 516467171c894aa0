"""One folder per flux."""
