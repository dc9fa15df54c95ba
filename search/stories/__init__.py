"""Stories: which articles tell the same news event (issue 14)."""
