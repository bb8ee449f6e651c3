"""Models of the policy domain."""
