"""Route planning: travel model, solver and the dispatcher API."""
