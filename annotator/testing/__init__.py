"""Test helpers: a fake OpenAI-compatible server.

``annotator.testing.fakeserver`` holds ``FakeServer`` (in-process) and
``FakeServerProcess`` (a child process); ``python -m annotator.testing.fakeserver``
runs it on its own.
"""
