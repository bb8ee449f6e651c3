"""Models of the push domain."""
