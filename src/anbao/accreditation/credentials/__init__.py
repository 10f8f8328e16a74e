"""The credential scheme: pure code (no Django, no database), shared by server and gates."""
