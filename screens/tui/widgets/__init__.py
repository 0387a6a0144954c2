"""Reusable widgets of the full-screen wizard (one concern per module)."""
