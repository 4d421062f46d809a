"""Live clips: clips that can be heard while they are still being generated (issue 10)."""
