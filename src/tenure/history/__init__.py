"""Score history: a window of daily scores in the app DB, weekly beyond it, all of it in the warehouse."""
