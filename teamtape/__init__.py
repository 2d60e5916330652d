"""teamtape: a flight recorder for AutoGen 0.7 teams."""
