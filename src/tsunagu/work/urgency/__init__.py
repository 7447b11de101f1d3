"""The child guidance centre and family centre's report intake and urgency aid (issue 20)."""
