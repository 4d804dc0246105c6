"""Settings package: base plus one module per concern; local, test and production pick from it."""
