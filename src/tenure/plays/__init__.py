"""Plays: playbooks, CSM tasks, uplift models, the next best action and measured effect."""
