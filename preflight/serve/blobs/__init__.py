"""Where the service keeps bytes: the node's spool of request bodies as they arrive."""
