"""Prompt injection in abstracts: the detector and the fence (the suite that measures its effect
on scores is ``annotator.evalrun.injection``)."""
