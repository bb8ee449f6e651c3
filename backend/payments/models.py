"""Models of the payments domain."""
