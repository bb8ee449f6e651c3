"""Models of the escalations domain."""
