"""Segments: rule segments, behavioural clusters, value × risk grid and RFM usage groups."""
