"""Users and their roles. A user belongs to one schema: platform staff to the public one, a brand's people to its own."""
