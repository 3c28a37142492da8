"""The faces of the system: the command line, and later the Flask pages and JSON API."""
