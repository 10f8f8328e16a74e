"""The offline gate client: decides scans online, or alone from a signed bundle, and journals.

Runs on a lane PC with its own files; it never touches the server's database (no Django ORM).
"""
