"""Users and their roles; a user belongs to one schema: platform staff to public, a brand's people to its own."""
