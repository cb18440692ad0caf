"""Where the service keeps bytes: uploads waiting to be checked, take recordings as their chunks
arrive, fixed takes and reports. One interface (``base.py``), two places: a folder under ``--data``
(the default, one node) or an S3 bucket (``--blobs s3://BUCKET/PREFIX``: every node reads what any
node wrote). Bodies land first in the node's own spool (``spool.py``), counted against its budget.
"""
