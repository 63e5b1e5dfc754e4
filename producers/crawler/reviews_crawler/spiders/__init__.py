"""Spiders of the reviews crawler."""
