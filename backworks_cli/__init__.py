"""backworks: record, learn, replay and evolve HTTP APIs you do not control."""

__version__ = "0.1.0"
