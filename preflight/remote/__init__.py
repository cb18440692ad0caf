"""Media that is already online: ``https://`` links and ``s3://`` objects, checked the way Tavus will
fetch them (``link.py``), and read by the same analysis pass without a full local copy (``source.py``)."""
