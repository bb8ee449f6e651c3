"""Models of the consoles domain."""
