"""Judging methods: how one paper becomes one stored judgment.

The method is named in the prompt version's front matter (``method:``); the
runner asks ``dispatch.method_for`` for it once per run and then calls
``await method.judge(paper)`` per task. See ``interface`` for the contract.
"""
