"""The family portal (``/family/``): guardians' own sign-in, sessions and pages, mounted beside the staff app."""
