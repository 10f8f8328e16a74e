"""The credential scheme: pure code (no Django, no database), shared by server and gates.

``codec`` turns claims into QR text, ``keys`` holds the root, signing keys and trust list,
``revocation`` the signed revocation lists, ``policy`` the rule engine, and ``verifier`` the
one pure ``verify`` function built on them.
"""
