"""The run layer: everything between an entry point (the command line, the library, the service)
and the measuring, judging and rendering below it.

- ``rulesets``: which rule set judges a file (``--rules``, the project's patterns, a Tavus model).
- ``isolated``: one input's check, whose failures become its result.
- ``cached``: the result cache around it, for local files and links.
- ``triage``: what needs analysing (local or remote, cached, unusable) and what does not.
- ``batch`` / ``cluster`` / ``execute``: running the analyses in worker processes or on Dask.
- ``checks``: a whole run of ``check`` as one Report.
- ``tavus_image``: Tavus's own image check as a finding.
- ``fix``, ``submit``, ``journal``, ``training``: the fix and submit pipelines and what follows a face.

Nothing here prints: each function returns what happened and the entry points say it.
"""
