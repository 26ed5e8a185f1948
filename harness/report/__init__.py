"""The readiness report: gate the selected runs, then write readiness.md, .json and .html.

``gate`` decides GO / NO-GO from re-checked evidence; ``model`` builds the
readiness/1 document; ``markdown``, ``htmlpage`` and ``plots`` only render it.
"""
